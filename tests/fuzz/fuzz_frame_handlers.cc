// The main lcore's pure frame handlers (dataplane/frame_handlers.h): ARP, ICMP echo and
// ICMPv6 (echo, Neighbour Solicitation and Advertisement) on any bytes.
//
// Input: one control byte, then the frame. Control bits 0-1 pick the handler (0 ARP, 1 ICMP,
// 2 and 3 ICMPv6); bit 2 asks for the ICMPv6 checksum to be made valid first (so mutations
// reach past the checksum check the handler starts with); bits 3-7 are the room after the
// frame (capacity = len + 0..31), which the handlers may use for a longer reply.
//
// Properties: nothing is written beyond `capacity` (the frame sits in an exactly-sized heap
// block: ASan sees it) nor, except by a reply, at all; a reply fits its capacity, comes from our
// MAC and address, goes to reply_to, and carries valid checksums and lengths; a drop names a
// reason; nothing learned is ours, a group MAC, or an address no neighbour can have.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/frame_handlers.h"
#include "dataplane/packet_headers.h"
#include "fuzz_check.h"

namespace dprelay {
namespace {

constexpr uint8_t kCanary = 0xa5;

// The identity of the unit tests (dataplane_frame_handlers_test.cc), which the seeds use.
const LocalIdentity& Local() {
  static const LocalIdentity local = [] {
    LocalIdentity l{.ip_be = inet_addr("10.77.0.1"), .port_be = htons(40000)};
    l.mac = {0x02, 0xdd, 0, 0, 0, 0x01};
    l.ipv6 = true;
    l.ip6 = {0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    l.ll6 = LinkLocalFromMac(l.mac);
    return l;
  }();
  return local;
}

bool IsGroupMac(const uint8_t* mac) { return (mac[0] & 1) != 0; }

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Ones'-complement sum over n bytes is 0xffff (checksum field included): valid.
bool SumsToOnes(const void* p, size_t n) { return rte_raw_cksum(p, n) == 0xffff; }

void CheckLearned(const LearnedNeighbour& n) {
  const LocalIdentity& l = Local();
  FUZZ_CHECK(!IsGroupMac(n.mac.data()));
  if (n.ip.is_v4()) {
    const uint32_t ip = ntohl(n.ip.v4_be());
    FUZZ_CHECK(n.ip.v4_be() != l.ip_be);
    FUZZ_CHECK(ip != 0 && ip != 0xffffffff && (ip >> 28) != 0xe);
  } else {
    FUZZ_CHECK(n.ip.is_v6());
    FUZZ_CHECK(n.ip.bytes != l.ip6 && n.ip.bytes != l.ll6);
    FUZZ_CHECK(n.ip.bytes[0] != 0xff);  // a multicast group has no neighbour
    FUZZ_CHECK(n.ip.bytes != Ip6Bytes{});
  }
}

// f: the frame after the handler, request: as it came.
void CheckReply(int handler, const uint8_t* f, const uint8_t* request, const FrameVerdict& v,
                size_t capacity) {
  const LocalIdentity& l = Local();
  FUZZ_CHECK(v.reply_len <= capacity);
  FUZZ_CHECK(v.reply_len >= kEthHdrLen);
  FUZZ_CHECK(std::memcmp(f + 6, l.mac.data(), 6) == 0);  // from our MAC
  if (handler == 0) {
    FUZZ_CHECK(v.reply_len >= kEthHdrLen + sizeof(rte_arp_hdr));
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(f + kEthHdrLen);
    FUZZ_CHECK(arp->arp_opcode == htons(RTE_ARP_OP_REPLY));
    FUZZ_CHECK(arp->arp_data.arp_sip == l.ip_be);
    FUZZ_CHECK(v.reply_to == IpAddr::V4FromBe(arp->arp_data.arp_tip));
    // To whoever asked: the request's Ethernet source, and its sender as the target.
    FUZZ_CHECK(std::memcmp(f, request + 6, 6) == 0);
    FUZZ_CHECK(std::memcmp(arp->arp_data.arp_tha.addr_bytes, request + kEthHdrLen + 8, 6) == 0);
  } else if (handler == 1) {
    FUZZ_CHECK(v.reply_len >= kEthHdrLen + kIpv4HdrLen + 8);
    const uint8_t* ip = f + kEthHdrLen;
    const size_t ip_len = Be16(ip + 2);
    FUZZ_CHECK(kEthHdrLen + ip_len == v.reply_len);
    FUZZ_CHECK(SumsToOnes(ip, kIpv4HdrLen));
    FUZZ_CHECK(SumsToOnes(ip + kIpv4HdrLen, ip_len - kIpv4HdrLen));
    uint32_t src, dst;
    std::memcpy(&src, ip + 12, 4);
    std::memcpy(&dst, ip + 16, 4);
    FUZZ_CHECK(src == l.ip_be);
    FUZZ_CHECK(v.reply_to == IpAddr::V4FromBe(dst));
    FUZZ_CHECK(ip[kIpv4HdrLen] == 0);  // echo reply
    FUZZ_CHECK(std::memcmp(request + kEthHdrLen + 16, &l.ip_be, 4) == 0);  // it was to us
  } else {
    FUZZ_CHECK(v.reply_len >= kEthHdrLen + kIpv6HdrLen + 4);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f + kEthHdrLen);
    FUZZ_CHECK(kEthHdrLen + kIpv6HdrLen + ntohs(ip->payload_len) == v.reply_len);
    FUZZ_CHECK(ip->proto == IPPROTO_ICMPV6);
    FUZZ_CHECK(rte_ipv6_udptcp_cksum_verify(ip, ip + 1) == 0);
    FUZZ_CHECK(std::memcmp(ip->src_addr, l.ip6.data(), 16) == 0 ||
               std::memcmp(ip->src_addr, l.ll6.data(), 16) == 0);
    FUZZ_CHECK(v.reply_to == IpAddr::V6(ip->dst_addr));
  }
}

// Makes the ICMPv6 checksum valid when the frame holds a whole ICMPv6 message.
void FixIcmp6Checksum(uint8_t* f, size_t len) {
  if (len < kEthHdrLen + kIpv6HdrLen + 4) {
    return;
  }
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f + kEthHdrLen);
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  if (ip->proto != IPPROTO_ICMPV6 || kEthHdrLen + kIpv6HdrLen + ntohs(ip->payload_len) > len) {
    return;
  }
  icmp[2] = icmp[3] = 0;
  const uint16_t csum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &csum, 2);
}

int FuzzOne(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t control = data[0];
  const int handler = control & 3;
  const size_t len = size - 1;
  const size_t capacity = len + (control >> 3);
  // An exactly-sized block: a write past capacity (or read past it) is an ASan report.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[capacity == 0 ? 1 : capacity]);
  std::memcpy(buf.get(), data + 1, len);
  std::memset(buf.get() + len, kCanary, capacity - len);
  if ((control & 4) != 0 && handler >= 2) {
    FixIcmp6Checksum(buf.get(), len);
  }
  const std::vector<uint8_t> before(buf.get(), buf.get() + capacity);

  const FrameBytes f{.data = buf.get(), .len = len, .capacity = capacity};
  const FrameVerdict v = handler == 0   ? HandleArpFrame(f, Local())
                         : handler == 1 ? HandleIcmp4Frame(f, Local())
                                        : HandleIcmp6Frame(f, Local());
  if (v.learn) {
    CheckLearned(*v.learn);
  }
  switch (v.action) {
    case FrameVerdict::Action::kReply:
      CheckReply(handler, buf.get(), before.data(), v, capacity);
      // Beyond the frame and the reply, the room is untouched.
      for (size_t i = std::max(len, v.reply_len); i < capacity; ++i) {
        FUZZ_CHECK(buf[i] == kCanary);
      }
      break;
    case FrameVerdict::Action::kDrop:
    case FrameVerdict::Action::kToKernel:
      FUZZ_CHECK(v.drop != DropReason::kNotDropped);
      [[fallthrough]];
    case FrameVerdict::Action::kToKernelOrFree:
      // Not answered: the frame is exactly as it came (the kernel may get it).
      FUZZ_CHECK(std::equal(before.begin(), before.end(), buf.get()));
      break;
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
