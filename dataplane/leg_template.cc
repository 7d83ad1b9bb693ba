#include "dataplane/leg_template.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstddef>
#include <cstring>

namespace dprelay {
namespace {

// Forwarded packets start a new IP hop from the relay (it is a UDP endpoint, not a router).
constexpr uint8_t kTtl = 64;

void WriteEthernet(uint8_t* hdr, const MacAddr& dst, const MacAddr& src, uint16_t type_be) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(hdr);
  std::memcpy(eth->dst_addr.addr_bytes, dst.data(), 6);
  std::memcpy(eth->src_addr.addr_bytes, src.data(), 6);
  eth->ether_type = type_be;
}

void WriteUdp(uint8_t* at, uint16_t src_be, uint16_t dst_be) {
  auto* udp = reinterpret_cast<rte_udp_hdr*>(at);
  udp->src_port = src_be;
  udp->dst_port = dst_be;
  udp->dgram_len = 0;    // per packet
  udp->dgram_cksum = 0;  // per packet
}

void BuildV6(const LegEndpoints& e, const MacAddr& next_hop_mac, LegFwd6* out) {
  WriteEthernet(out->hdr, next_hop_mac, e.local_mac, RTE_BE16(RTE_ETHER_TYPE_IPV6));
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out->hdr + kEthHdrLen);
  ip->vtc_flow = RTE_BE32(6u << 28);  // version 6, traffic class 0, no flow label
  ip->payload_len = 0;                // per packet
  ip->proto = IPPROTO_UDP;
  ip->hop_limits = kTtl;
  std::memcpy(ip->src_addr, e.local_ip6.data(), 16);
  std::memcpy(ip->dst_addr, e.peer_ip6.data(), 16);
  WriteUdp(out->hdr + kEthHdrLen + kIpv6HdrLen, e.local_port_be, e.peer_port_be);
}

}  // namespace

uint32_t SumWords32(const void* p, size_t n_words) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n_words; ++i) {
    uint32_t w;
    std::memcpy(&w, static_cast<const uint8_t*>(p) + 4 * i, 4);
    sum += w;
  }
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

LegFwd BuildLegFwd(const LegEndpoints& e, NextHopState state, const MacAddr* next_hop_mac,
                   LegFwd6* v6) {
  LegFwd f;
  const bool resolved = state == NextHopState::kResolved && next_hop_mac != nullptr;
  f.next_hop = resolved                          ? NextHopState::kResolved
               : state == NextHopState::kNoRoute ? NextHopState::kNoRoute
                                                 : NextHopState::kUnresolved;
  if (e.v6) {
    f.bound = kLegV6;
    *v6 = LegFwd6{};
    v6->addr = e.peer_ip6;
    v6->port_be = e.peer_port_be;
    if (resolved) {
      BuildV6(e, *next_hop_mac, v6);
      // Source and destination addresses (8 words), then the UDP ports right after them.
      v6->l4_sum = SumWords32(v6->hdr + kEthHdrLen + offsetof(rte_ipv6_hdr, src_addr), 9);
    }
    return f;
  }
  f.addr_be = e.peer_ip_be;
  f.port_be = e.peer_port_be;
  f.bound = kLegV4;
  f.addr_port_sum = CsumFold((f.addr_be & 0xffff) + (f.addr_be >> 16) + f.port_be);
  if (!resolved) {
    return f;
  }
  WriteEthernet(f.hdr, *next_hop_mac, e.local_mac, RTE_BE16(RTE_ETHER_TYPE_IPV4));
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
  WriteUdp(f.hdr + kEthHdrLen + kIpv4HdrLen, e.local_port_be, e.peer_port_be);
  f.ip_sum = rte_raw_cksum(ip, kIpv4HdrLen);  // folded, not complemented
  // Source and destination addresses (2 words), then the UDP ports right after them.
  f.l4_sum = SumWords32(&ip->src_addr, 3);
  return f;
}

}  // namespace dprelay
