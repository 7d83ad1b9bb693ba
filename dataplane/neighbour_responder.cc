#include "dataplane/neighbour_responder.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/nd_options.h"
#include "dataplane/packet_headers.h"

namespace dprelay {
namespace {

constexpr uint64_t kMldReportIntervalNs = 60'000'000'000;
constexpr uint8_t kNeighbourSolicitation = 135;
// type, code, checksum, reserved (4), target address (16), then our link-layer option.
constexpr size_t kNdHeaderLen = 24;
constexpr size_t kNdMessageLen = kNdHeaderLen + kNdLinkAddrOptionLen;
constexpr uint8_t kNdHopLimit = 255;

// MLDv2 (RFC 3810): reports go to ff02::16 from our link-local address, hop limit 1, behind a
// Hop-by-Hop header with the Router Alert option (RFC 2711, value 0: MLD).
constexpr uint8_t kMldV2Report = 143;
constexpr uint8_t kModeIsExclude = 2;  // record type: listening to every source
constexpr Ip6Bytes kAllMldRouters = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};
constexpr uint8_t kHopByHop[8] = {IPPROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0};  // RA, then PadN(0)
constexpr size_t kMldRecordLen = 4 + 16;

// The ICMPv6 checksum when extension headers sit between the IPv6 header and the message:
// the pseudo-header names the final destination, the message's length and next header 58.
uint16_t Icmp6Checksum(const rte_ipv6_hdr* ip, const uint8_t* icmp, size_t len) {
  uint32_t sum = rte_raw_cksum(ip->src_addr, 32);
  // Sums are in memory order: the 32-bit length and the next header as big-endian words.
  sum += rte_cpu_to_be_16(static_cast<uint16_t>(len >> 16)) +
         rte_cpu_to_be_16(static_cast<uint16_t>(len & 0xffff)) + rte_cpu_to_be_16(IPPROTO_ICMPV6);
  sum = (sum & 0xffff) + (sum >> 16);
  sum += rte_raw_cksum(icmp, len);
  return static_cast<uint16_t>(~CsumFold(sum));
}

}  // namespace

NeighbourResponder::NeighbourResponder(const LocalIdentity& local, const MainOutput& out,
                                       Neighbours* neighbours, SessionManager* sessions)
    : local_(local), out_(out), neighbours_(neighbours), sessions_(sessions) {}

std::optional<DropReason> NeighbourResponder::Learn(const LearnedNeighbour& n, uint64_t now_ns) {
  if (!neighbours_->OnLink(n.ip)) {
    return std::nullopt;
  }
  if (n.advertisement && !neighbours_->Known(n.ip)) {
    return DropReason::kNdUnsolicited;
  }
  // Only a next hop some leg uses has legs to republish: learning any other address (from
  // whatever host on the link sends us ARP or ND) costs a table entry, not a scan.
  const bool in_use = sessions_->IsNextHop(n.ip);
  if (!neighbours_->Learn(n.ip, n.mac, now_ns, n.override, in_use) || !in_use) {
    return std::nullopt;
  }
  if (immediate_republishes_ > 0) {
    --immediate_republishes_;
    sessions_->OnNeighboursChanged({n.ip});
  } else {
    changed_hops_.insert(n.ip);
  }
  return std::nullopt;
}

void NeighbourResponder::Housekeeping(uint64_t now_ns) {
  for (const IpAddr& gone : neighbours_->Expire(now_ns)) {
    changed_hops_.insert(gone);
  }
  // Changes beyond the immediate budget, and expiries: one scan for all of them.
  sessions_->OnNeighboursChanged(changed_hops_);
  changed_hops_.clear();
  immediate_republishes_ = kImmediateRepublishes;
  for (const IpAddr& hop : sessions_->NextHopsInUse()) {
    if (neighbours_->ShouldRequest(hop, now_ns)) {
      ResolveNextHop(hop);
    }
  }
  if (local_.ipv6 && now_ns >= next_mld_report_ns_) {
    // At start, then well within a snooping switch's listener timeout (260 s by default,
    // RFC 3810 9.4); nobody's queries need answering for that.
    next_mld_report_ns_ = now_ns + kMldReportIntervalNs;
    SendMldReport();
  }
}

void NeighbourResponder::ResolveNextHop(const IpAddr& hop) {
  if (hop.is_v4()) {
    SendArpRequest(hop.v4_be());
  } else {
    SendNeighbourSolicitation(hop.bytes);
  }
}

void NeighbourResponder::SendArpRequest(uint32_t target_be) {
  rte_mbuf* m = out_.NewFrame(kEthHdrLen + sizeof(rte_arp_hdr));
  if (m == nullptr) {
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  memset(eth->dst_addr.addr_bytes, 0xff, 6);
  std::memcpy(eth->src_addr.addr_bytes, local_.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
  std::memcpy(arp->arp_data.arp_sha.addr_bytes, local_.mac.data(), 6);
  arp->arp_data.arp_sip = local_.ip_be;
  memset(arp->arp_data.arp_tha.addr_bytes, 0, 6);
  arp->arp_data.arp_tip = target_be;
  Bump(out_.counters->arp_requests);
  out_.Transmit(m);
}

void NeighbourResponder::SendNeighbourSolicitation(const Ip6Bytes& target) {
  rte_mbuf* m = out_.NewFrame(kEthHdrLen + kIpv6HdrLen + kNdMessageLen);
  if (m == nullptr) {
    return;
  }
  // To the target's solicited-node group (RFC 4861 7.2.2), from the address of ours that a
  // reply can come back to: link-local for a link-local target, else the relay address.
  const Ip6Bytes group = SolicitedNodeMulticast(target);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint8_t group_mac[6] = {0x33, 0x33, group[12], group[13], group[14], group[15]};
  std::memcpy(eth->dst_addr.addr_bytes, group_mac, 6);
  std::memcpy(eth->src_addr.addr_bytes, local_.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  ip->vtc_flow = RTE_BE32(6u << 28);
  ip->payload_len = RTE_BE16(kNdMessageLen);
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = kNdHopLimit;
  const Ip6Bytes& source = IsIpv6LinkLocal(target) ? local_.ll6 : local_.ip6;
  std::memcpy(ip->src_addr, source.data(), 16);
  std::memcpy(ip->dst_addr, group.data(), 16);
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  std::memset(icmp, 0, kNdMessageLen);
  icmp[0] = kNeighbourSolicitation;
  std::memcpy(icmp + 8, target.data(), 16);
  icmp[kNdHeaderLen] = kNdOptSourceLinkAddr;
  icmp[kNdHeaderLen + 1] = 1;
  std::memcpy(icmp + kNdHeaderLen + 2, local_.mac.data(), 6);
  const uint16_t csum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &csum, 2);
  Bump(out_.counters->nd_solicitations);
  out_.Transmit(m);
}

void NeighbourResponder::SendMldReport() {
  Ip6Bytes groups[2] = {SolicitedNodeMulticast(local_.ip6), SolicitedNodeMulticast(local_.ll6)};
  const size_t n_groups = groups[0] == groups[1] ? 1 : 2;
  const size_t icmp_len = 8 + n_groups * kMldRecordLen;
  const size_t ip_payload = sizeof(kHopByHop) + icmp_len;
  rte_mbuf* m = out_.NewFrame(static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + ip_payload));
  if (m == nullptr) {
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint8_t mac[6] = {0x33, 0x33, 0, 0, 0, 0x16};
  std::memcpy(eth->dst_addr.addr_bytes, mac, 6);
  std::memcpy(eth->src_addr.addr_bytes, local_.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  ip->vtc_flow = RTE_BE32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(ip_payload));
  ip->proto = 0;  // Hop-by-Hop Options
  ip->hop_limits = 1;
  std::memcpy(ip->src_addr, local_.ll6.data(), 16);
  std::memcpy(ip->dst_addr, kAllMldRouters.data(), 16);
  uint8_t* hbh = reinterpret_cast<uint8_t*>(ip + 1);
  std::memcpy(hbh, kHopByHop, sizeof(kHopByHop));
  uint8_t* icmp = hbh + sizeof(kHopByHop);
  std::memset(icmp, 0, icmp_len);
  icmp[0] = kMldV2Report;
  icmp[7] = static_cast<uint8_t>(n_groups);  // number of records (bytes 6..7)
  for (size_t i = 0; i < n_groups; ++i) {
    uint8_t* record = icmp + 8 + i * kMldRecordLen;
    record[0] = kModeIsExclude;  // no auxiliary data, no sources
    std::memcpy(record + 4, groups[i].data(), 16);
  }
  const uint16_t csum = Icmp6Checksum(ip, icmp, icmp_len);
  std::memcpy(icmp + 2, &csum, 2);
  Bump(out_.counters->mld_reports);
  out_.Transmit(m);
}

}  // namespace dprelay
