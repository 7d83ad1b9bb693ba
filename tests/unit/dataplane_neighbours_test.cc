// Next-hop choice and the neighbour table for both families, and the dataplane's address and
// gateway flags. No EAL.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "dataplane/config.h"
#include "dataplane/neighbours.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

IpAddr Ip(const char* text) { return *ParseIp(text); }
Ip6Bytes Ip6(const char* text) { return Ip(text).bytes; }

TEST(NeighboursTest, OnLinkPeersDirectlyOthersThroughTheGatewayNeverGuessed) {
  Neighbours n(Ipv4Subnet{Ip("10.0.0.1").v4_be(), 24}, Ip("10.0.0.254").v4_be());
  EXPECT_EQ(n.NextHop(Ip("10.0.0.7")), Ip("10.0.0.7"));
  EXPECT_EQ(n.NextHop(Ip("192.0.2.9")), Ip("10.0.0.254"));
  EXPECT_FALSE(n.Lookup(Ip("10.0.0.7")).has_value());
  EXPECT_TRUE(n.ShouldRequest(Ip("10.0.0.7"), 1'000'000'000));
  EXPECT_FALSE(n.ShouldRequest(Ip("10.0.0.7"), 1'500'000'000));  // rate-limited
  EXPECT_TRUE(n.Learn(Ip("10.0.0.7"), MacAddr{2, 0, 0, 0, 0, 7}, 2'000'000'000));
  EXPECT_FALSE(n.Learn(Ip("10.0.0.7"), MacAddr{2, 0, 0, 0, 0, 7}, 2'000'000'000));
  EXPECT_EQ(n.Lookup(Ip("10.0.0.7")), (MacAddr{2, 0, 0, 0, 0, 7}));
  EXPECT_FALSE(n.ShouldRequest(Ip("10.0.0.7"), 3'000'000'000));  // fresh
  Neighbours no_gw(Ipv4Subnet{Ip("10.0.0.1").v4_be(), 24}, std::nullopt);
  EXPECT_FALSE(no_gw.NextHop(Ip("192.0.2.9")).has_value());
  // Without an IPv6 address nothing IPv6 is on-link or routable.
  EXPECT_FALSE(no_gw.NextHop(Ip("fe80::1")).has_value());
  EXPECT_FALSE(no_gw.OnLink(Ip("fe80::1")));
}

TEST(NeighboursTest, Ipv6PrefixAndLinkLocalAreOnLinkTheRestGoesToTheGateway) {
  Neighbours n(NextHopConfig{.v4 = {Ip("10.0.0.1").v4_be(), 24},
                             .v6 = Ipv6Subnet{Ip6("2001:db8:0:1::5"), 60},
                             .gateway6 = Ip6("fe80::1")});
  EXPECT_EQ(n.NextHop(Ip("2001:db8:0:f::9")), Ip("2001:db8:0:f::9"));  // inside the /60
  EXPECT_EQ(n.NextHop(Ip("2001:db8:0:10::9")), Ip("fe80::1"));         // just outside
  EXPECT_EQ(n.NextHop(Ip("fe80::abcd")), Ip("fe80::abcd"));
  EXPECT_TRUE(n.OnLink(Ip("fe80::1")));
  EXPECT_FALSE(n.OnLink(Ip("2001:db8:1::1")));
  // IPv4 and IPv6 entries do not collide.
  EXPECT_TRUE(n.Learn(Ip("fe80::1"), MacAddr{2, 0, 0, 0, 0, 1}, 1));
  EXPECT_FALSE(n.Lookup(Ip("10.0.0.1")).has_value());
  EXPECT_EQ(n.Lookup(Ip("fe80::1")), (MacAddr{2, 0, 0, 0, 0, 1}));
  EXPECT_TRUE(n.Expire(Neighbours::kExpireNs).empty());
  EXPECT_EQ(n.Expire(Neighbours::kExpireNs + 2), std::vector<IpAddr>{Ip("fe80::1")});
  EXPECT_FALSE(n.Lookup(Ip("fe80::1")).has_value());
}

TEST(NeighboursTest, AKnownMacIsReplacedOnlyWithOverrideAndNotWithinTheLockTime) {
  Neighbours n(Ipv4Subnet{Ip("10.0.0.1").v4_be(), 24}, std::nullopt);
  const MacAddr a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
  const uint64_t t0 = 10 * Neighbours::kLockNs;
  EXPECT_TRUE(n.Learn(Ip("10.0.0.7"), a, t0));
  // A different MAC right away (flapping answers, a spoofer) is ignored...
  EXPECT_FALSE(n.Learn(Ip("10.0.0.7"), b, t0 + Neighbours::kLockNs / 2));
  EXPECT_EQ(n.Lookup(Ip("10.0.0.7")), a);
  // ... and so is one without the override flag, however late.
  EXPECT_FALSE(n.Learn(Ip("10.0.0.7"), b, t0 + 5 * Neighbours::kLockNs, /*override=*/false));
  EXPECT_EQ(n.Lookup(Ip("10.0.0.7")), a);
  // A second after the last change it is taken.
  EXPECT_TRUE(n.Learn(Ip("10.0.0.7"), b, t0 + 5 * Neighbours::kLockNs));
  EXPECT_EQ(n.Lookup(Ip("10.0.0.7")), b);
}

TEST(NeighboursTest, TheTableIsBoundedExceptForNextHopsInUse) {
  Neighbours n(Ipv4Subnet{Ip("10.0.0.1").v4_be(), 8}, std::nullopt);
  const MacAddr mac{2, 0, 0, 0, 0, 1};
  for (uint32_t i = 0; i < Neighbours::kMaxEntries; ++i) {
    n.Learn(IpAddr::V4FromBe(htonl(0x0a010000 + i)), mac, 1);
  }
  EXPECT_EQ(n.size(), Neighbours::kMaxEntries);
  EXPECT_FALSE(n.Learn(Ip("10.2.0.1"), mac, 1));  // a stranger: not learned
  EXPECT_FALSE(n.Lookup(Ip("10.2.0.1")).has_value());
  EXPECT_TRUE(n.Learn(Ip("10.2.0.2"), mac, 1, true, /*in_use=*/true));  // a leg's next hop
  // Unresolved entries nothing asks for any more are forgotten too.
  EXPECT_TRUE(n.ShouldRequest(Ip("10.3.0.1"), 1));
  n.Expire(Neighbours::kExpireNs + 2);
  EXPECT_EQ(n.size(), 0u);
}

TEST(NeighboursTest, DerivedAddressesFollowRfc4291) {
  EXPECT_EQ(LinkLocalFromMac(MacAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}),
            Ip6("fe80::11:22ff:fe33:4455"));
  EXPECT_EQ(SolicitedNodeMulticast(Ip6("2001:db8::12:3456")), Ip6("ff02::1:ff12:3456"));
  EXPECT_TRUE(IsIpv6LinkLocal(Ip6("febf::1")));
  EXPECT_FALSE(IsIpv6LinkLocal(Ip6("fec0::1")));
}

TEST(DataplaneConfigTest, AddressTakesOneAddressPerFamilyInEitherOrder) {
  DataplaneConfig c;
  ASSERT_TRUE(ParseAddressFlag("fd00::1/64,10.0.0.1/24", &c).ok());
  EXPECT_EQ(c.address.addr_be, Ip("10.0.0.1").v4_be());
  EXPECT_EQ(c.address.prefix_len, 24);
  ASSERT_TRUE(c.address6.has_value());
  EXPECT_EQ(c.address6->addr, Ip6("fd00::1"));
  EXPECT_EQ(c.address6->prefix_len, 64);
  ASSERT_TRUE(ParseGatewayFlag("10.0.0.254,fe80::1", &c).ok());
  EXPECT_EQ(c.gateway, Ip("10.0.0.254").v4_be());
  EXPECT_EQ(c.gateway6, Ip6("fe80::1"));

  DataplaneConfig v4;
  ASSERT_TRUE(ParseAddressFlag("10.0.0.1", &v4).ok());
  EXPECT_EQ(v4.address.prefix_len, 32);
  EXPECT_FALSE(v4.address6.has_value());
}

TEST(DataplaneConfigTest, BadAddressesAndGatewaysAreRefusedByName) {
  auto address_error = [](const char* text) {
    DataplaneConfig c;
    return std::string(ParseAddressFlag(text, &c).message());
  };
  EXPECT_NE(address_error("fd00::1/64").find("IPv4 address is required"), std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/24,10.0.0.2/24").find("more than one IPv4"), std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/24,fd00::1,fd00::2").find("more than one IPv6"),
            std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/33").find("0..32"), std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/24,fd00::1/129").find("0..128"), std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/24,fe80::1/64").find("global or unique-local"),
            std::string::npos);
  EXPECT_NE(address_error("10.0.0.1/24,nonsense").find("'nonsense' is not an IP address"),
            std::string::npos);

  DataplaneConfig c;
  ASSERT_TRUE(ParseAddressFlag("10.0.0.1/24", &c).ok());
  EXPECT_NE(std::string(ParseGatewayFlag("10.1.0.1", &c).message()).find("not inside"),
            std::string::npos);
  EXPECT_NE(std::string(ParseGatewayFlag("fe80::1", &c).message()).find("without an IPv6"),
            std::string::npos);
  ASSERT_TRUE(ParseAddressFlag("10.0.0.1/24,fd00::1/64", &c).ok());
  EXPECT_NE(std::string(ParseGatewayFlag("fd01::1", &c).message()).find("neither link-local"),
            std::string::npos);
  EXPECT_TRUE(ParseGatewayFlag("fd00::fffe", &c).ok());
}

}  // namespace
}  // namespace dprelay
