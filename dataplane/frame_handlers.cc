#include "dataplane/frame_handlers.h"

#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/nd_options.h"
#include "dataplane/packet_headers.h"

namespace dprelay {
namespace {

constexpr uint8_t kEcho6Request = 128;
constexpr uint8_t kEcho6Reply = 129;
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

FrameVerdict Drop(DropReason r) {
  FrameVerdict v;
  v.action = FrameVerdict::Action::kDrop;
  v.drop = r;
  return v;
}
FrameVerdict Reply(size_t len, const IpAddr& to) {
  FrameVerdict v;
  v.action = FrameVerdict::Action::kReply;
  v.reply_len = len;
  v.reply_to = to;
  return v;
}
// What the kernel may want; without an exception interface it is a drop of `otherwise`.
FrameVerdict ToKernel(DropReason otherwise) {
  FrameVerdict v;
  v.action = FrameVerdict::Action::kToKernel;
  v.drop = otherwise;
  return v;
}

bool IsMulticast6(const uint8_t* a) { return a[0] == 0xff; }
// Group bit: broadcast and multicast MACs, which no neighbour can own.
bool IsGroupMac(const uint8_t* mac) { return (mac[0] & 1) != 0; }
bool IsUnspecified6(const uint8_t* a) {
  static constexpr uint8_t kZero[16] = {};
  return std::memcmp(a, kZero, 16) == 0;
}
bool IsOurs6(const LocalIdentity& l, const uint8_t* a) {
  return std::memcmp(a, l.ip6.data(), 16) == 0 || std::memcmp(a, l.ll6.data(), 16) == 0;
}

// The checks RFC 4861 7.1.1 and 7.1.2 share: hop limit, code, length, checksum, target.
bool ValidNd(const rte_ipv6_hdr* ip, const uint8_t* icmp, size_t len) {
  return ip->hop_limits == kNdHopLimit && icmp[1] == 0 && len >= kNdHeaderLen &&
         rte_ipv6_udptcp_cksum_verify(ip, icmp) == 0 && !IsMulticast6(icmp + 8);
}

void FillIcmp6(rte_ipv6_hdr* ip, uint8_t* icmp) {
  icmp[2] = icmp[3] = 0;
  const uint16_t csum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &csum, 2);
}

FrameVerdict AnswerEcho6(FrameBytes f, const LocalIdentity& local, size_t icmp_len) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  if (!IsOurs6(local, ip->dst_addr)) {
    return Drop(DropReason::kNotLocal);  // echo to a multicast group: not answered
  }
  if (icmp[1] != 0) {
    return Drop(DropReason::kIcmpNotEcho);
  }
  if (rte_ipv6_udptcp_cksum_verify(ip, icmp) != 0) {
    return Drop(DropReason::kIcmpBadChecksum);  // damaged, or not worth an answer
  }
  eth->dst_addr = eth->src_addr;
  std::memcpy(eth->src_addr.addr_bytes, local.mac.data(), 6);
  uint8_t ours[16];
  std::memcpy(ours, ip->dst_addr, 16);
  std::memcpy(ip->dst_addr, ip->src_addr, 16);
  std::memcpy(ip->src_addr, ours, 16);
  ip->hop_limits = 64;
  icmp[0] = kEcho6Reply;
  FillIcmp6(ip, icmp);
  return Reply(kEthHdrLen + kIpv6HdrLen + icmp_len, IpAddr::V6(ip->dst_addr));
}

FrameVerdict AnswerNeighbourSolicitation(FrameBytes f, const LocalIdentity& local, size_t len) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  std::optional<MacAddr> source_mac;
  const bool dad = IsUnspecified6(ip->src_addr);  // duplicate address detection probe
  if (!ValidNd(ip, icmp, len) ||
      !FindNdLinkAddr(icmp + kNdHeaderLen, len - kNdHeaderLen, kNdOptSourceLinkAddr, &source_mac) ||
      (dad && (source_mac.has_value() || !IsMulticast6(ip->dst_addr)))) {
    return Drop(DropReason::kNdInvalid);
  }
  if (!IsOurs6(local, icmp + 8)) {
    return Drop(DropReason::kNdNotForUs);
  }
  if (IsOurs6(local, ip->src_addr)) {
    return Drop(DropReason::kNeighbourOwnAddress);
  }
  if (IsMulticast6(ip->src_addr)) {
    return Drop(DropReason::kNeighbourBadAddress);  // never a source (RFC 4291 2.7)
  }
  if (IsGroupMac(eth->src_addr.addr_bytes) || (source_mac && IsGroupMac(source_mac->data()))) {
    return Drop(DropReason::kNeighbourBadMac);
  }
  FrameVerdict v;
  if (source_mac) {
    v.learn = LearnedNeighbour{.ip = IpAddr::V6(ip->src_addr), .mac = *source_mac};
  }
  // The advertisement, in place: to the soliciting address (all-nodes for a DAD probe), from
  // the solicited address, with our MAC as the target link-layer address.
  const size_t reply_len = kEthHdrLen + kIpv6HdrLen + kNdMessageLen;
  if (f.capacity < reply_len) {
    FrameVerdict d = Drop(DropReason::kNoMbuf);
    d.learn = v.learn;
    return d;
  }
  if (dad) {
    static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 0x01};
    std::memcpy(eth->dst_addr.addr_bytes, kAllNodesMac, 6);
    std::memcpy(ip->dst_addr, kIpv6AllNodes.data(), 16);
  } else {
    eth->dst_addr = eth->src_addr;
    std::memcpy(ip->dst_addr, ip->src_addr, 16);
  }
  std::memcpy(eth->src_addr.addr_bytes, local.mac.data(), 6);
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
  std::memcpy(opt + 2, local.mac.data(), 6);
  FillIcmp6(ip, icmp);
  FrameVerdict r = Reply(reply_len, IpAddr::V6(ip->dst_addr));
  r.learn = v.learn;
  return r;
}

FrameVerdict LearnFromNeighbourAdvertisement(FrameBytes f, const LocalIdentity& local, size_t len) {
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f.data + kEthHdrLen);
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  std::optional<MacAddr> target_mac;
  if (!ValidNd(ip, icmp, len) ||
      !FindNdLinkAddr(icmp + kNdHeaderLen, len - kNdHeaderLen, kNdOptTargetLinkAddr, &target_mac) ||
      (IsMulticast6(ip->dst_addr) && (icmp[4] & kFlagSolicited) != 0)) {
    return Drop(DropReason::kNdInvalid);
  }
  if (IsOurs6(local, icmp + 8)) {
    return Drop(DropReason::kNeighbourOwnAddress);
  }
  if (IsUnspecified6(icmp + 8)) {
    return Drop(DropReason::kNeighbourBadAddress);  // nobody's address
  }
  if (IsGroupMac(f.data + 6) || (target_mac && IsGroupMac(target_mac->data()))) {
    return Drop(DropReason::kNeighbourBadMac);
  }
  // It may answer the kernel's own solicitation; without an exception interface it has
  // served its purpose once learned.
  FrameVerdict v;
  v.action = FrameVerdict::Action::kToKernelOrFree;
  // Without the option the advertisement tells us nothing we can use (RFC 4861 7.2.5).
  if (target_mac) {
    v.learn = LearnedNeighbour{.ip = IpAddr::V6(icmp + 8),
                               .mac = *target_mac,
                               .override = (icmp[4] & kFlagOverride) != 0,
                               .advertisement = true};
  }
  return v;
}

}  // namespace

FrameVerdict HandleArpFrame(FrameBytes f, const LocalIdentity& local) {
  if (f.len < kEthHdrLen + sizeof(rte_arp_hdr)) {
    return Drop(DropReason::kEthRunt);
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
      arp->arp_plen != 4) {
    return Drop(DropReason::kArpNotForUs);
  }
  const uint32_t sender_ip = arp->arp_data.arp_sip;
  const uint32_t target_ip = arp->arp_data.arp_tip;
  if (target_ip != local.ip_be) {
    return Drop(DropReason::kArpNotForUs);
  }
  if (sender_ip == local.ip_be) {
    return Drop(DropReason::kNeighbourOwnAddress);  // a conflict or a spoof: neither is learned
  }
  // No neighbour owns the limited broadcast or a multicast group (0.0.0.0 is a probe's sender,
  // RFC 5227: answered, never learned).
  if (const uint32_t sender = rte_be_to_cpu_32(sender_ip);
      sender == 0xffffffff || (sender >> 28) == 0xe) {
    return Drop(DropReason::kNeighbourBadAddress);
  }
  if (IsGroupMac(eth->src_addr.addr_bytes) || IsGroupMac(arp->arp_data.arp_sha.addr_bytes)) {
    return Drop(DropReason::kNeighbourBadMac);
  }
  FrameVerdict v;
  // Learn the sender from requests and replies addressed to us (as Linux does).
  if (sender_ip != 0) {
    LearnedNeighbour n{.ip = IpAddr::V4FromBe(sender_ip)};
    std::memcpy(n.mac.data(), arp->arp_data.arp_sha.addr_bytes, 6);
    v.learn = n;
  }
  if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST)) {
    // It may be the answer to the kernel's own request; without an exception interface it
    // has served its purpose once learned.
    v.action = FrameVerdict::Action::kToKernelOrFree;
    return v;
  }
  // Turn the request into our reply in place.
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = sender_ip;
  std::memcpy(arp->arp_data.arp_sha.addr_bytes, local.mac.data(), 6);
  arp->arp_data.arp_sip = local.ip_be;
  eth->dst_addr = eth->src_addr;
  std::memcpy(eth->src_addr.addr_bytes, local.mac.data(), 6);
  FrameVerdict r = Reply(f.len, IpAddr::V4FromBe(sender_ip));
  r.learn = v.learn;
  return r;
}

FrameVerdict HandleIcmp4Frame(FrameBytes f, const LocalIdentity& local) {
  if (f.len < kEthHdrLen + kIpv4HdrLen) {
    return Drop(DropReason::kIpRunt);
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip->version_ihl != 0x45 || ip_len < kIpv4HdrLen + sizeof(rte_icmp_hdr) ||
      kEthHdrLen + ip_len > f.len) {
    return Drop(DropReason::kIpBadTotalLength);
  }
  if (ip->dst_addr != local.ip_be) {
    return Drop(DropReason::kNotLocal);  // not ours to answer (nor to hand to our kernel)
  }
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
  switch (icmp->icmp_type) {
    case RTE_IP_ICMP_ECHO_REQUEST:
      break;
    case RTE_IP_ICMP_ECHO_REPLY:
    case 3:   // destination unreachable (fragmentation needed among them)
    case 11:  // time exceeded
    case 12:  // parameter problem
      return ToKernel(DropReason::kIcmpNotEcho);
    default:
      return Drop(DropReason::kIcmpNotEcho);
  }
  if (icmp->icmp_code != 0) {
    return Drop(DropReason::kIcmpNotEcho);
  }
  // The folded one's-complement sum over a valid message (checksum included) is 0xffff.
  if (rte_raw_cksum(icmp, ip_len - kIpv4HdrLen) != 0xffff) {
    return Drop(DropReason::kIcmpBadChecksum);  // damaged, or not worth an answer
  }
  // Echo reply in place: swap addresses, type 0, checksums recomputed.
  rte_ether_addr tmp = eth->src_addr;
  eth->dst_addr = tmp;
  std::memcpy(eth->src_addr.addr_bytes, local.mac.data(), 6);
  ip->dst_addr = ip->src_addr;
  ip->src_addr = local.ip_be;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
  icmp->icmp_cksum = 0;
  icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, ip_len - kIpv4HdrLen));
  return Reply(kEthHdrLen + ip_len, IpAddr::V4FromBe(ip->dst_addr));
}

FrameVerdict HandleIcmp6Frame(FrameBytes f, const LocalIdentity& local) {
  if (f.len < kEthHdrLen + kIpv6HdrLen) {
    return Drop(DropReason::kIpRunt);
  }
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f.data + kEthHdrLen);
  const size_t len = rte_be_to_cpu_16(ip->payload_len);
  if (ip->proto != IPPROTO_ICMPV6 || len < 4 || kEthHdrLen + kIpv6HdrLen + len > f.len) {
    return Drop(DropReason::kIpBadTotalLength);
  }
  const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  switch (icmp[0]) {
    case kEcho6Request:
      return AnswerEcho6(f, local, len);
    case kNeighbourSolicitation:
      return AnswerNeighbourSolicitation(f, local, len);
    case kNeighbourAdvertisement:
      return LearnFromNeighbourAdvertisement(f, local, len);
    case 1:  // destination unreachable
    case 2:  // packet too big: IPv6 path MTU discovery depends on it (RFC 8200 5)
    case 3:  // time exceeded
    case 4:  // parameter problem
    case kEcho6Reply:
      return ToKernel(DropReason::kIcmpNotEcho);
    default:
      return Drop(DropReason::kIcmpNotEcho);  // router advertisements, MLD: not ours
  }
}

}  // namespace dprelay
