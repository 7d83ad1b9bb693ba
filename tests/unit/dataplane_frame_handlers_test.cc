// The main lcore's pure frame handlers, without EAL: what each ARP, ICMP and ND frame earns
// (reply bytes, a learned neighbour, a named drop), and the frames nothing may make us learn.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/frame_handlers.h"
#include "tests/testutil/packet_builder.h"

namespace dprelay {
namespace {

using testing::Ip6;

constexpr uint8_t kOurMac[6] = {0x02, 0xdd, 0, 0, 0, 0x01};
constexpr uint8_t kPeerMac[6] = {0x02, 0xaa, 0, 0, 0, 0x0a};
constexpr uint8_t kBroadcastMac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint8_t kMulticastMac[6] = {0x01, 0x00, 0x5e, 0, 0, 1};

LocalIdentity Local() {
  LocalIdentity l{.ip_be = inet_addr("10.77.0.1"), .port_be = htons(40000)};
  std::memcpy(l.mac.data(), kOurMac, 6);
  l.ipv6 = true;
  l.ip6 = Ip6("fd77::1");
  l.ll6 = LinkLocalFromMac(l.mac);
  return l;
}

// An ARP frame: op 1 request, 2 reply.
std::vector<uint8_t> Arp(uint16_t op, const uint8_t* eth_src, const uint8_t* sha, const char* sip,
                         const char* tip) {
  std::vector<uint8_t> f(42, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(&f[6], eth_src, 6);
  f[12] = 0x08, f[13] = 0x06;
  f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4;
  f[20] = 0, f[21] = static_cast<uint8_t>(op);
  std::memcpy(&f[22], sha, 6);
  const uint32_t s = inet_addr(sip), t = inet_addr(tip);
  std::memcpy(&f[28], &s, 4);
  std::memcpy(&f[38], &t, 4);
  return f;
}

// ICMPv6 `type` from src to dst: 4 bytes of flags, a target, one link-layer option (type
// opt_type) with `mac`. Checksum filled in by the builder.
std::vector<uint8_t> Nd(uint8_t type, uint8_t flags, const char* src, const char* dst,
                        const char* target, uint8_t opt_type, const uint8_t* mac,
                        const uint8_t* eth_src = kPeerMac) {
  testing::Frame f;
  std::memcpy(f.src_mac, eth_src, 6);
  std::memcpy(f.dst_mac, kOurMac, 6);
  f.ipv6 = true;
  f.src_ip6 = Ip6(src);
  f.dst_ip6 = Ip6(dst);
  f.protocol = 58;
  f.raw_l4 = true;
  f.ttl = 255;
  f.payload = {type, 0, 0, 0, flags, 0, 0, 0};
  const auto t = Ip6(target);
  f.payload.insert(f.payload.end(), t.begin(), t.end());
  f.payload.insert(f.payload.end(), {opt_type, 1});
  f.payload.insert(f.payload.end(), mac, mac + 6);
  return f.Build();
}

FrameVerdict Handle(FrameVerdict (*handler)(FrameBytes, const LocalIdentity&),
                    std::vector<uint8_t>& frame) {
  const size_t len = frame.size();
  frame.resize(len + 64);  // tailroom, as an mbuf has
  return handler(FrameBytes{.data = frame.data(), .len = len, .capacity = frame.size()}, Local());
}

TEST(ArpFrameTest, ARequestForUsBecomesOurReplyAndTeachesTheSender) {
  std::vector<uint8_t> f = Arp(1, kPeerMac, kPeerMac, "10.77.0.11", "10.77.0.1");
  const FrameVerdict v = Handle(HandleArpFrame, f);
  ASSERT_EQ(v.action, FrameVerdict::Action::kReply);
  EXPECT_EQ(v.reply_len, 42u);
  EXPECT_EQ(v.reply_to, *ParseIp("10.77.0.11"));
  EXPECT_EQ(0, std::memcmp(&f[0], kPeerMac, 6));
  EXPECT_EQ(0, std::memcmp(&f[22], kOurMac, 6));
  EXPECT_EQ(f[21], 2);
  ASSERT_TRUE(v.learn.has_value());
  EXPECT_EQ(v.learn->ip, *ParseIp("10.77.0.11"));
  EXPECT_EQ(0, std::memcmp(v.learn->mac.data(), kPeerMac, 6));
}

TEST(ArpFrameTest, NothingClaimingOurAddressOrAGroupMacIsLearnedOrAnswered) {
  std::vector<uint8_t> self = Arp(2, kPeerMac, kPeerMac, "10.77.0.1", "10.77.0.1");
  FrameVerdict v = Handle(HandleArpFrame, self);
  EXPECT_EQ(v.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v.drop, DropReason::kNeighbourOwnAddress);
  EXPECT_FALSE(v.learn.has_value());

  for (const uint8_t* mac : {kBroadcastMac, kMulticastMac}) {
    std::vector<uint8_t> sha = Arp(1, kPeerMac, mac, "10.77.0.254", "10.77.0.1");
    v = Handle(HandleArpFrame, sha);
    EXPECT_EQ(v.drop, DropReason::kNeighbourBadMac);
    EXPECT_FALSE(v.learn.has_value());
    std::vector<uint8_t> eth = Arp(1, mac, kPeerMac, "10.77.0.254", "10.77.0.1");
    v = Handle(HandleArpFrame, eth);
    EXPECT_EQ(v.drop, DropReason::kNeighbourBadMac);
  }
}

TEST(ArpFrameTest, ARunOrAForeignTargetIsADropByName) {
  std::vector<uint8_t> runt = Arp(1, kPeerMac, kPeerMac, "10.77.0.11", "10.77.0.1");
  runt.resize(30);
  EXPECT_EQ(HandleArpFrame(FrameBytes{runt.data(), runt.size(), runt.size()}, Local()).drop,
            DropReason::kEthRunt);
  std::vector<uint8_t> other = Arp(1, kPeerMac, kPeerMac, "10.77.0.11", "10.77.0.9");
  EXPECT_EQ(Handle(HandleArpFrame, other).drop, DropReason::kArpNotForUs);
}

TEST(Icmp6FrameTest, ASolicitationIsAnsweredAndTeachesItsSource) {
  std::vector<uint8_t> f = Nd(135, 0, "fd77::11", "ff02::1:ff00:1", "fd77::1", 1, kPeerMac);
  const FrameVerdict v = Handle(HandleIcmp6Frame, f);
  ASSERT_EQ(v.action, FrameVerdict::Action::kReply);
  EXPECT_EQ(v.reply_to, *ParseIp("fd77::11"));
  EXPECT_EQ(f[54], 136);  // an advertisement
  EXPECT_TRUE(testing::ChecksumsValid(std::vector<uint8_t>(f.begin(), f.begin() + v.reply_len)));
  ASSERT_TRUE(v.learn.has_value());
  EXPECT_FALSE(v.learn->advertisement);
}

TEST(Icmp6FrameTest, SolicitationsFromOurAddressOrWithAGroupMacAreDropped) {
  std::vector<uint8_t> self = Nd(135, 0, "fd77::1", "ff02::1:ff00:1", "fd77::1", 1, kPeerMac);
  EXPECT_EQ(Handle(HandleIcmp6Frame, self).drop, DropReason::kNeighbourOwnAddress);
  std::vector<uint8_t> group =
      Nd(135, 0, "fd77::11", "ff02::1:ff00:1", "fd77::1", 1, kMulticastMac);
  EXPECT_EQ(Handle(HandleIcmp6Frame, group).drop, DropReason::kNeighbourBadMac);
  std::vector<uint8_t> eth =
      Nd(135, 0, "fd77::11", "ff02::1:ff00:1", "fd77::1", 1, kPeerMac, kBroadcastMac);
  EXPECT_EQ(Handle(HandleIcmp6Frame, eth).drop, DropReason::kNeighbourBadMac);
}

TEST(Icmp6FrameTest, AdvertisementsTeachOnlyUnicastMacsForOthersAndSayTheyAreAdvertisements) {
  std::vector<uint8_t> ok = Nd(136, 0x60, "fd77::11", "fd77::1", "fd77::11", 2, kPeerMac);
  FrameVerdict v = Handle(HandleIcmp6Frame, ok);
  EXPECT_EQ(v.action, FrameVerdict::Action::kToKernelOrFree);
  ASSERT_TRUE(v.learn.has_value());
  EXPECT_TRUE(v.learn->advertisement);  // learned only if we asked (NeighbourResponder)
  EXPECT_TRUE(v.learn->override);

  std::vector<uint8_t> ours = Nd(136, 0x20, "fd77::11", "ff02::1", "fd77::1", 2, kPeerMac);
  v = Handle(HandleIcmp6Frame, ours);
  EXPECT_EQ(v.drop, DropReason::kNeighbourOwnAddress);
  EXPECT_FALSE(v.learn.has_value());
  std::vector<uint8_t> group = Nd(136, 0x60, "fd77::11", "fd77::1", "fd77::11", 2, kBroadcastMac);
  EXPECT_EQ(Handle(HandleIcmp6Frame, group).drop, DropReason::kNeighbourBadMac);
}

// An ICMP echo request from the peer (10.77.0.11) to dst_ip.
testing::Frame EchoRequest(uint32_t dst_ip) {
  testing::Frame f;
  std::memcpy(f.src_mac, kPeerMac, 6);
  f.src_ip = testing::Ip(10, 77, 0, 11);
  f.dst_ip = dst_ip;
  f.protocol = 1;
  f.raw_l4 = true;
  f.payload = {8, 0, 0, 0, 0, 1, 0, 1, 'h', 'i'};
  return f;
}

TEST(Icmp4FrameTest, AnEchoRequestIsAnsweredToItsSourceAndErrorsGoToTheKernel) {
  testing::Frame f = EchoRequest(testing::Ip(10, 77, 0, 1));
  std::vector<uint8_t> echo = f.Build();
  FrameVerdict v = Handle(HandleIcmp4Frame, echo);
  ASSERT_EQ(v.action, FrameVerdict::Action::kReply);
  EXPECT_EQ(v.reply_to, *ParseIp("10.77.0.11"));
  EXPECT_EQ(echo[34], 0);
  f.payload[0] = 3;  // destination unreachable
  std::vector<uint8_t> unreachable = f.Build();
  v = Handle(HandleIcmp4Frame, unreachable);
  EXPECT_EQ(v.action, FrameVerdict::Action::kToKernel);
  EXPECT_EQ(v.drop, DropReason::kIcmpNotEcho);
  // A total length beyond the frame (a worker would not hand it over; the handler still checks).
  std::vector<uint8_t> cut = f.Build();
  cut.resize(36);
  EXPECT_EQ(HandleIcmp4Frame(FrameBytes{cut.data(), cut.size(), cut.size()}, Local()).drop,
            DropReason::kIpBadTotalLength);
}

// Found by fuzz_frame_handlers: a sender claiming a broadcast or multicast address was learned
// (and answered). No neighbour owns one.
TEST(ArpFrameTest, ABroadcastOrMulticastSenderIsNeitherLearnedNorAnswered) {
  for (const char* sender : {"255.255.255.255", "224.0.0.5", "239.1.2.3"}) {
    std::vector<uint8_t> f = Arp(1, kPeerMac, kPeerMac, sender, "10.77.0.1");
    const FrameVerdict v = Handle(HandleArpFrame, f);
    EXPECT_EQ(v.action, FrameVerdict::Action::kDrop) << sender;
    EXPECT_EQ(v.drop, DropReason::kNeighbourBadAddress) << sender;
    EXPECT_FALSE(v.learn.has_value()) << sender;
  }
}

TEST(Icmp6FrameTest, ASolicitationFromAMulticastSourceIsNeitherLearnedNorAnswered) {
  std::vector<uint8_t> f =
      Nd(135, 0, "ff02::1", "ff02::1:ff00:1", "fd77::1", 1, kPeerMac);
  const FrameVerdict v = Handle(HandleIcmp6Frame, f);
  EXPECT_EQ(v.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v.drop, DropReason::kNeighbourBadAddress);
  EXPECT_FALSE(v.learn.has_value());
}

// Found by fuzz_frame_handlers: an advertisement for the unspecified address taught us a MAC for
// it.
TEST(Icmp6FrameTest, AnAdvertisementForTheUnspecifiedAddressIsNotLearned) {
  std::vector<uint8_t> f = Nd(136, 0x20, "fd77::11", "fd77::1", "::", 2, kPeerMac);
  const FrameVerdict v = Handle(HandleIcmp6Frame, f);
  EXPECT_EQ(v.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v.drop, DropReason::kNeighbourBadAddress);
  EXPECT_FALSE(v.learn.has_value());
}

// Found by fuzz_frame_handlers: an echo request to another address was answered from ours.
// The worker only hands over ICMP to our address, but the handler checks what it reads itself.
TEST(Icmp4FrameTest, AnEchoRequestToAnotherAddressIsNotAnswered) {
  testing::Frame f = EchoRequest(testing::Ip(10, 77, 0, 2));
  std::vector<uint8_t> echo = f.Build();
  const std::vector<uint8_t> before = echo;
  const FrameVerdict v = Handle(HandleIcmp4Frame, echo);
  EXPECT_EQ(v.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v.drop, DropReason::kNotLocal);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), echo.begin()));
}

// An echo request whose checksum does not verify is not answered (a reply would carry a
// checksum we computed over damaged bytes), over IPv4 and IPv6 alike.
TEST(Icmp4FrameTest, AnEchoRequestWithABadChecksumIsNotAnswered) {
  testing::Frame f = EchoRequest(testing::Ip(10, 77, 0, 1));
  std::vector<uint8_t> echo = f.Build();
  echo.back() ^= 0x40;  // one bit flipped after the checksum was filled in
  const FrameVerdict v = Handle(HandleIcmp4Frame, echo);
  EXPECT_EQ(v.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v.drop, DropReason::kIcmpBadChecksum);

  testing::Frame g;
  std::memcpy(g.src_mac, kPeerMac, 6);
  g.ipv6 = true;
  g.src_ip6 = testing::Ip6("fd77::11");
  g.dst_ip6 = testing::Ip6("fd77::1");
  g.protocol = 58;
  g.raw_l4 = true;
  g.payload = {128, 0, 0, 0, 0, 1, 0, 1, 'h', 'i'};
  std::vector<uint8_t> echo6 = g.Build();
  std::vector<uint8_t> good6 = echo6;
  ASSERT_EQ(Handle(HandleIcmp6Frame, good6).action, FrameVerdict::Action::kReply);
  echo6.back() ^= 0x40;
  const FrameVerdict v6 = Handle(HandleIcmp6Frame, echo6);
  EXPECT_EQ(v6.action, FrameVerdict::Action::kDrop);
  EXPECT_EQ(v6.drop, DropReason::kIcmpBadChecksum);
}

}  // namespace
}  // namespace dprelay
