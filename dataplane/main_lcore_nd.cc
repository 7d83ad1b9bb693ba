// The main lcore's ICMPv6: echo replies, Neighbour Discovery for our addresses (RFC 4861:
// answering solicitations, learning from advertisements, soliciting next hops).
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <optional>

#include "dataplane/main_lcore.h"
#include "dataplane/nd_options.h"
#include "dataplane/packet_headers.h"

namespace dprelay {
namespace {

constexpr uint8_t kEchoRequest = 128;
constexpr uint8_t kEchoReply = 129;
constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;
// type, code, checksum, flags/reserved (4), target address (16)
constexpr size_t kNdHeaderLen = 24;
// What we send: the ND header and one link-layer address option.
constexpr size_t kNdMessageLen = kNdHeaderLen + kNdLinkAddrOptionLen;
// RFC 4861 7.1: ND is only accepted with hop limit 255 (it cannot have crossed a router).
constexpr uint8_t kNdHopLimit = 255;
constexpr uint8_t kFlagSolicited = 0x40;
constexpr uint8_t kFlagOverride = 0x20;

bool IsMulticast(const uint8_t* a) { return a[0] == 0xff; }
bool IsUnspecified(const uint8_t* a) {
  static constexpr uint8_t kZero[16] = {};
  return std::memcmp(a, kZero, 16) == 0;
}
bool IsOurs(const LocalIdentity& l, const uint8_t* a) {
  return std::memcmp(a, l.ip6.data(), 16) == 0 || std::memcmp(a, l.ll6.data(), 16) == 0;
}

// The checks RFC 4861 7.1.1 and 7.1.2 share: hop limit, code, length, checksum, target.
bool ValidNd(const rte_ipv6_hdr* ip, const uint8_t* icmp, size_t len) {
  return ip->hop_limits == kNdHopLimit && icmp[1] == 0 && len >= kNdHeaderLen &&
         rte_ipv6_udptcp_cksum_verify(ip, icmp) == 0 && !IsMulticast(icmp + 8);
}

void FillIcmp6(rte_ipv6_hdr* ip, uint8_t* icmp) {
  icmp[2] = icmp[3] = 0;
  const uint16_t csum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &csum, 2);
}

// Grows or trims m to exactly frame_len bytes; false if the mbuf has no room.
bool ResizeFrame(rte_mbuf* m, uint32_t frame_len) {
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < frame_len) {
    return rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len - len)) != nullptr;
  }
  rte_pktmbuf_trim(m, static_cast<uint16_t>(len - frame_len));
  return true;
}

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

void MainLcore::SendMldReport() {
  Ip6Bytes groups[2] = {SolicitedNodeMulticast(ctx_.local.ip6),
                        SolicitedNodeMulticast(ctx_.local.ll6)};
  const size_t n_groups = groups[0] == groups[1] ? 1 : 2;
  const size_t icmp_len = 8 + n_groups * kMldRecordLen;
  const size_t ip_payload = sizeof(kHopByHop) + icmp_len;
  rte_mbuf* m = NewFrame(static_cast<uint16_t>(kEthHdrLen + kIpv6HdrLen + ip_payload));
  if (m == nullptr) {
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint8_t mac[6] = {0x33, 0x33, 0, 0, 0, 0x16};
  std::memcpy(eth->dst_addr.addr_bytes, mac, 6);
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  ip->vtc_flow = RTE_BE32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(ip_payload));
  ip->proto = 0;  // Hop-by-Hop Options
  ip->hop_limits = 1;
  std::memcpy(ip->src_addr, ctx_.local.ll6.data(), 16);
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
  Bump(ctx_.counters->mld_reports);
  Transmit(m);
}

void MainLcore::HandleIcmp6(rte_mbuf* m, uint64_t now_ns) {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + kEthHdrLen);
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  if (rte_be_to_cpu_16(ip->payload_len) < 4) {
    Drop(m, DropReason::kIpBadTotalLength);
    return;
  }
  switch (icmp[0]) {
    case kEchoRequest:
      AnswerEcho6(m);
      return;
    case kNeighbourSolicitation:
      AnswerNeighbourSolicitation(m, now_ns);
      return;
    case kNeighbourAdvertisement:
      LearnFromNeighbourAdvertisement(m, now_ns);
      return;
    case 1:  // destination unreachable
    case 2:  // packet too big: IPv6 path MTU discovery depends on it (RFC 8200 5)
    case 3:  // time exceeded
    case 4:  // parameter problem
    case kEchoReply:
      IcmpForKernel(m);
      return;
    default:
      Drop(m, DropReason::kIcmpNotEcho);  // router advertisements, MLD: not ours
  }
}

void MainLcore::AnswerEcho6(rte_mbuf* m) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  if (!IsOurs(ctx_.local, ip->dst_addr)) {
    Drop(m, DropReason::kNotLocal);  // echo to a multicast group: not answered
    return;
  }
  if (icmp[1] != 0) {
    Drop(m, DropReason::kIcmpNotEcho);
    return;
  }
  const uint16_t len = rte_be_to_cpu_16(ip->payload_len);
  eth->dst_addr = eth->src_addr;
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  uint8_t ours[16];
  std::memcpy(ours, ip->dst_addr, 16);
  std::memcpy(ip->dst_addr, ip->src_addr, 16);
  std::memcpy(ip->src_addr, ours, 16);
  ip->hop_limits = 64;
  icmp[0] = kEchoReply;
  FillIcmp6(ip, icmp);
  ResizeFrame(m, static_cast<uint32_t>(kEthHdrLen + kIpv6HdrLen + len));  // only trims
  Bump(ctx_.counters->icmp_echo_replies);
  Transmit(m);
}

void MainLcore::AnswerNeighbourSolicitation(rte_mbuf* m, uint64_t now_ns) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  const size_t len = rte_be_to_cpu_16(ip->payload_len);
  std::optional<MacAddr> source_mac;
  const bool dad = IsUnspecified(ip->src_addr);  // duplicate address detection probe
  if (!ValidNd(ip, icmp, len) ||
      !FindNdLinkAddr(icmp + kNdHeaderLen, len - kNdHeaderLen, kNdOptSourceLinkAddr, &source_mac) ||
      (dad && (source_mac.has_value() || !IsMulticast(ip->dst_addr)))) {
    Drop(m, DropReason::kNdInvalid);
    return;
  }
  if (!IsOurs(ctx_.local, icmp + 8)) {
    Drop(m, DropReason::kNdNotForUs);
    return;
  }
  if (source_mac) {
    LearnNeighbour(IpAddr::V6(ip->src_addr), *source_mac, now_ns);
  }
  // The advertisement, in place: to the soliciting address (all-nodes for a DAD probe), from
  // the solicited address, with our MAC as the target link-layer address.
  if (!ResizeFrame(m, kEthHdrLen + kIpv6HdrLen + kNdMessageLen)) {
    Drop(m, DropReason::kNoMbuf);
    return;
  }
  if (dad) {
    static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 0x01};
    std::memcpy(eth->dst_addr.addr_bytes, kAllNodesMac, 6);
    std::memcpy(ip->dst_addr, kIpv6AllNodes.data(), 16);
  } else {
    eth->dst_addr = eth->src_addr;
    std::memcpy(ip->dst_addr, ip->src_addr, 16);
  }
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  std::memcpy(ip->src_addr, icmp + 8, 16);
  ip->vtc_flow = RTE_BE32(6u << 28);
  ip->payload_len = RTE_BE16(kNdMessageLen);
  ip->hop_limits = kNdHopLimit;
  icmp[0] = kNeighbourAdvertisement;
  icmp[1] = 0;
  icmp[4] = static_cast<uint8_t>((dad ? 0 : kFlagSolicited) | kFlagOverride);
  icmp[5] = icmp[6] = icmp[7] = 0;
  uint8_t* opt = icmp + kNdHeaderLen;
  opt[0] = kNdOptTargetLinkAddr;
  opt[1] = 1;
  std::memcpy(opt + 2, ctx_.local.mac.data(), 6);
  FillIcmp6(ip, icmp);
  Bump(ctx_.counters->nd_advertisements);
  Transmit(m);
}

void MainLcore::LearnFromNeighbourAdvertisement(rte_mbuf* m, uint64_t now_ns) {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + kEthHdrLen);
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  const size_t len = rte_be_to_cpu_16(ip->payload_len);
  std::optional<MacAddr> target_mac;
  if (!ValidNd(ip, icmp, len) ||
      !FindNdLinkAddr(icmp + kNdHeaderLen, len - kNdHeaderLen, kNdOptTargetLinkAddr, &target_mac) ||
      (IsMulticast(ip->dst_addr) && (icmp[4] & kFlagSolicited) != 0)) {
    Drop(m, DropReason::kNdInvalid);
    return;
  }
  // Without the option the advertisement tells us nothing we can use (RFC 4861 7.2.5).
  if (target_mac) {
    LearnNeighbour(IpAddr::V6(icmp + 8), *target_mac, now_ns, (icmp[4] & kFlagOverride) != 0);
  }
  if (ctx_.exception != nullptr) {
    ctx_.exception->ToKernel(m);  // it may answer the kernel's own solicitation
  } else {
    rte_pktmbuf_free(m);
  }
}

void MainLcore::SendNeighbourSolicitation(const Ip6Bytes& target) {
  rte_mbuf* m = NewFrame(kEthHdrLen + kIpv6HdrLen + kNdMessageLen);
  if (m == nullptr) {
    return;
  }
  // To the target's solicited-node group (RFC 4861 7.2.2), from the address of ours that a
  // reply can come back to: link-local for a link-local target, else the relay address.
  const Ip6Bytes group = SolicitedNodeMulticast(target);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint8_t group_mac[6] = {0x33, 0x33, group[12], group[13], group[14], group[15]};
  std::memcpy(eth->dst_addr.addr_bytes, group_mac, 6);
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  ip->vtc_flow = RTE_BE32(6u << 28);
  ip->payload_len = RTE_BE16(kNdMessageLen);
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = kNdHopLimit;
  const Ip6Bytes& source = IsIpv6LinkLocal(target) ? ctx_.local.ll6 : ctx_.local.ip6;
  std::memcpy(ip->src_addr, source.data(), 16);
  std::memcpy(ip->dst_addr, group.data(), 16);
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  std::memset(icmp, 0, kNdMessageLen);
  icmp[0] = kNeighbourSolicitation;
  std::memcpy(icmp + 8, target.data(), 16);
  icmp[kNdHeaderLen] = kNdOptSourceLinkAddr;
  icmp[kNdHeaderLen + 1] = 1;
  std::memcpy(icmp + kNdHeaderLen + 2, ctx_.local.mac.data(), 6);
  FillIcmp6(ip, icmp);
  Bump(ctx_.counters->nd_solicitations);
  Transmit(m);
}

}  // namespace dprelay
