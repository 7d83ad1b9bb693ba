#include "dataplane/leg_template.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace dprelay {
namespace {

// Forwarded packets start a new IP hop from the relay (it is a UDP endpoint, not a router).
constexpr uint8_t kTtl = 64;

}  // namespace

LegFwd BuildLegFwd(const LegEndpoints& e, NextHopState state, const MacAddr* next_hop_mac) {
  LegFwd f;
  f.addr_be = e.peer_ip_be;
  f.port_be = e.peer_port_be;
  f.bound = 1;
  if (state != NextHopState::kResolved || next_hop_mac == nullptr) {
    f.next_hop = state == NextHopState::kNoRoute ? state : NextHopState::kUnresolved;
    return f;
  }
  f.next_hop = NextHopState::kResolved;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.hdr);
  std::memcpy(eth->dst_addr.addr_bytes, next_hop_mac->data(), 6);
  std::memcpy(eth->src_addr.addr_bytes, e.local_mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.hdr + kEthHdrLen);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0;
  ip->total_length = 0;  // per packet
  ip->packet_id = 0;
  ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = kTtl;
  ip->next_proto_id = IPPROTO_UDP;
  ip->hdr_checksum = 0;  // per packet
  ip->src_addr = e.local_ip_be;
  ip->dst_addr = e.peer_ip_be;
  auto* udp = reinterpret_cast<rte_udp_hdr*>(f.hdr + kEthHdrLen + kIpv4HdrLen);
  udp->src_port = e.local_port_be;
  udp->dst_port = e.peer_port_be;
  udp->dgram_len = 0;                         // per packet
  udp->dgram_cksum = 0;                       // per packet
  f.ip_sum = rte_raw_cksum(ip, kIpv4HdrLen);  // folded, not complemented
  uint32_t ports;
  std::memcpy(&ports, &udp->src_port, sizeof(ports));
  uint64_t sum = uint64_t{ip->src_addr} + ip->dst_addr + ports;
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  f.l4_sum = static_cast<uint32_t>(sum);
  return f;
}

}  // namespace dprelay
