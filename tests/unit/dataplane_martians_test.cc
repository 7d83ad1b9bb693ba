// The martian filter: every class of address no leg may be bound to, with its drop reason, and
// the ordinary client addresses that must pass.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "dataplane/martians.h"

namespace dprelay {
namespace {

AddrPort At(const char* ip, uint16_t port = 41641) { return AddrPort{*ParseIp(ip), port}; }

class MartianFilterTest : public ::testing::Test {
 protected:
  MartianFilterTest() : filter_(Local(), Ipv4Subnet{inet_addr("203.0.113.5"), 24}) {}

  static LocalIdentity Local() {
    LocalIdentity l{.ip_be = inet_addr("203.0.113.5"), .port_be = htons(40000)};
    l.mac = {0x02, 0, 0, 0, 0, 1};
    l.ipv6 = true;
    l.ip6 = ParseIp("2001:db8::5")->bytes;
    l.ll6 = LinkLocalFromMac(l.mac);
    return l;
  }

  MartianFilter filter_;
};

TEST_F(MartianFilterTest, EachClassIsRefusedWithItsReason) {
  const struct {
    const char* ip;
    uint16_t port;
    DropReason reason;
  } cases[] = {
      {"203.0.113.5", 41641, DropReason::kMartianSelf},
      {"203.0.113.5", 40000, DropReason::kMartianSelf},
      {"2001:db8::5", 41641, DropReason::kMartianSelf},
      {"fe80::ff:fe00:1", 41641, DropReason::kMartianSelf},  // our EUI-64 link-local
      {"255.255.255.255", 41641, DropReason::kMartianBroadcast},
      {"203.0.113.255", 41641, DropReason::kMartianBroadcast},  // the subnet's broadcast
      {"224.0.0.1", 41641, DropReason::kMartianMulticast},
      {"239.255.255.250", 1900, DropReason::kMartianMulticast},
      {"ff02::1", 41641, DropReason::kMartianMulticast},
      {"ff0e::1", 41641, DropReason::kMartianMulticast},
      {"0.0.0.0", 41641, DropReason::kMartianUnspecified},
      {"0.1.2.3", 41641, DropReason::kMartianUnspecified},
      {"::", 41641, DropReason::kMartianUnspecified},
      {"127.0.0.1", 41641, DropReason::kMartianLoopback},
      {"127.9.9.9", 41641, DropReason::kMartianLoopback},
      {"::1", 41641, DropReason::kMartianLoopback},
      {"198.51.100.7", 0, DropReason::kMartianPortZero},
      {"2001:db8::7", 0, DropReason::kMartianPortZero},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(filter_.Check(At(c.ip, c.port)), c.reason) << c.ip << " port " << c.port;
  }
  // ::ffff:a.b.c.d only reaches the filter as IPv6 when it arrived on the wire that way.
  IpAddr mapped = IpAddr::V6(ParseIp("::ffff:198.51.100.7")->V4Mapped().bytes.data());
  EXPECT_EQ(filter_.Check(AddrPort{mapped, 41641}), DropReason::kMartianV4Mapped);
}

TEST_F(MartianFilterTest, ClientAddressesPass) {
  for (const char* ip : {"198.51.100.7", "203.0.113.6", "203.0.113.254", "10.0.0.1", "100.64.0.1",
                         "2001:db8::7", "fe80::1", "fd00::1"}) {
    EXPECT_EQ(filter_.Check(At(ip)), std::nullopt) << ip;
  }
}

TEST_F(MartianFilterTest, AdvertisedEndpointsAreRefusedAtTheirPortOnly) {
  filter_.set_advertised({At("198.51.100.50", 40000)});
  EXPECT_EQ(filter_.Check(At("198.51.100.50", 40000)), DropReason::kMartianAdvertised);
  EXPECT_EQ(filter_.Check(At("198.51.100.50", 40001)), std::nullopt);
}

TEST(MartianFilterPrefixTest, PointToPointAndHostPrefixesHaveNoBroadcastAddress) {
  LocalIdentity l{.ip_be = inet_addr("192.0.2.0")};
  MartianFilter p2p(l, Ipv4Subnet{inet_addr("192.0.2.0"), 31});
  EXPECT_EQ(p2p.Check(At("192.0.2.1")), std::nullopt);  // RFC 3021: the other end
  MartianFilter host(l, Ipv4Subnet{inet_addr("192.0.2.0"), 32});
  EXPECT_EQ(host.Check(At("192.0.2.1")), std::nullopt);
}

}  // namespace
}  // namespace dprelay
