#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

using ::testing::HasSubstr;

TEST(ParseIpTest, BothFamilies) {
  absl::StatusOr<IpAddr> ip = ParseIp("192.0.2.1");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, IpAddr::V4(192, 0, 2, 1));
  EXPECT_TRUE(ip->is_v4());

  ip = ParseIp("2001:db8::1");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_TRUE(ip->is_v6());
  EXPECT_EQ(ip->bytes[0], 0x20);
  EXPECT_EQ(ip->bytes[1], 0x01);
  EXPECT_EQ(ip->bytes[15], 0x01);

  // A v4-mapped literal stays IPv6, as netip.ParseAddr keeps it.
  ip = ParseIp("::ffff:1.2.3.4");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_TRUE(ip->is_v6());
}

TEST(ParseIpTest, Errors) {
  for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "::g",
                               "fe80::1%eth0", "localhost", "1.2.3.4:5", "[::1]"}) {
    absl::StatusOr<IpAddr> ip = ParseIp(bad);
    EXPECT_FALSE(ip.ok()) << bad;
  }
  EXPECT_FALSE(ParseIp(std::string_view("1.2.3.4\0junk", 12)).ok());
  EXPECT_THAT(std::string(ParseIp("bogus").status().message()), HasSubstr("\"bogus\""));
  EXPECT_FALSE(ParseIp(std::string(1000, '1')).ok());
}

TEST(ParseAddrPortTest, RoundTrips) {
  for (std::string_view text :
       {"1.2.3.4:5", "0.0.0.0:0", "255.255.255.255:65535", "192.0.2.1:41641", "[2001:db8::1]:5",
        "[::]:0", "[::1]:65535", "[fed0::12]:6666", "[::ffff:1.2.3.4]:80",
        "[2001:db8:1:2:3:4:5:6]:7"}) {
    absl::StatusOr<AddrPort> ap = ParseAddrPort(text);
    ASSERT_TRUE(ap.ok()) << text << ": " << ap.status();
    EXPECT_TRUE(ap->valid());
    EXPECT_EQ(FormatAddrPort(*ap), text);
  }
  absl::StatusOr<AddrPort> ap = ParseAddrPort("1.2.3.4:567");
  ASSERT_TRUE(ap.ok());
  EXPECT_EQ(ap->ip, IpAddr::V4(1, 2, 3, 4));
  EXPECT_EQ(ap->port, 567);
  // Leading zeros in the port are digits like any other (strconv.ParseUint accepts them).
  ap = ParseAddrPort("1.2.3.4:00080");
  ASSERT_TRUE(ap.ok());
  EXPECT_EQ(ap->port, 80);
}

TEST(ParseAddrPortTest, Errors) {
  for (std::string_view bad : {"",
                               ":",
                               ":5",
                               "1.2.3.4",
                               "1.2.3.4:",
                               "1.2.3.4:65536",
                               "1.2.3.4:-1",
                               "1.2.3.4:+1",
                               "1.2.3.4:1a",
                               "1.2.3.4: 1",
                               "1.2.3.4:99999999999999999999",
                               "2001:db8::1:5",
                               "[1.2.3.4]:5",
                               "[2001:db8::1]5",
                               "[2001:db8::1",
                               "[2001:db8::1]:",
                               "[]:5",
                               "host:5",
                               "127.0.0.1.1:1",
                               "[::1]:5:6",
                               "[[::1]]:5",
                               "1.2.3.4:5\n"}) {
    absl::StatusOr<AddrPort> ap = ParseAddrPort(bad);
    EXPECT_FALSE(ap.ok()) << bad << " parsed as " << (ap.ok() ? FormatAddrPort(*ap) : "");
  }
  absl::Status s = ParseAddrPort("1.2.3.4:70000").status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"1.2.3.4:70000\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("port"));
  s = ParseAddrPort("2001:db8::1:5").status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"2001:db8::1:5\""));
  EXPECT_FALSE(ParseAddrPort(std::string_view("1.2.3.4:5\0", 10)).ok());
  // Long garbage is cut short in the message.
  s = ParseAddrPort(std::string(5000, 'x')).status();
  EXPECT_LT(s.message().size(), 300u);
}

TEST(FormatTest, InetNtopForms) {
  absl::StatusOr<IpAddr> ip = ParseIp("2001:0db8:0000:0000:0000:0000:0000:0001");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(FormatIp(*ip), "2001:db8::1");
  EXPECT_EQ(FormatIp(IpAddr::V4(10, 0, 0, 255)), "10.0.0.255");
  EXPECT_EQ(FormatIp(IpAddr{}), "invalid IP");
  EXPECT_EQ(FormatAddrPort(AddrPort{}), "invalid AddrPort");
  EXPECT_EQ(FormatAddrPort({IpAddr::V4(1, 2, 3, 4), 0}), "1.2.3.4:0");
}

TEST(Ip16Test, V4IsMappedAndUnmapped) {
  uint8_t b[16];
  WriteIp16(IpAddr::V4(2, 3, 4, 5), b);
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 2, 3, 4, 5};
  EXPECT_EQ(std::memcmp(b, mapped, 16), 0);
  EXPECT_EQ(ReadIp16(b), IpAddr::V4(2, 3, 4, 5));

  absl::StatusOr<IpAddr> v6 = ParseIp("fed0::12");
  ASSERT_TRUE(v6.ok());
  WriteIp16(*v6, b);
  EXPECT_EQ(std::memcmp(b, v6->bytes.data(), 16), 0);
  EXPECT_EQ(ReadIp16(b), *v6);

  // Invalid writes zeros, which read back as IPv6 "::" (as Go's Unmap does).
  WriteIp16(IpAddr{}, b);
  const uint8_t zero[16] = {};
  EXPECT_EQ(std::memcmp(b, zero, 16), 0);
  EXPECT_EQ(FormatIp(ReadIp16(b)), "::");
}

TEST(IpAddrTest, V4BigEndianValue) {
  IpAddr ip = IpAddr::V4FromBe(htonl(0x01020304));
  EXPECT_EQ(ip, IpAddr::V4(1, 2, 3, 4));
  EXPECT_EQ(ip.v4_be(), htonl(0x01020304));
  uint8_t b6[16] = {0x20, 0x01};
  IpAddr v6 = IpAddr::V6(b6);
  EXPECT_TRUE(v6.is_v6());
  EXPECT_EQ(v6.v4_be(), 0u);
}

TEST(SockaddrTest, RoundTrips) {
  for (std::string_view text : {"1.2.3.4:5", "[2001:db8::1]:65535", "[::]:0"}) {
    absl::StatusOr<AddrPort> ap = ParseAddrPort(text);
    ASSERT_TRUE(ap.ok());
    sockaddr_storage ss;
    socklen_t len = ToSockaddr(*ap, &ss);
    EXPECT_EQ(len, ap->ip.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(ss.ss_family, ap->ip.is_v4() ? AF_INET : AF_INET6);
    absl::StatusOr<AddrPort> back = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, *ap);
  }
  sockaddr_storage ss;
  EXPECT_EQ(ToSockaddr(AddrPort{}, &ss), 0u);
}

TEST(SockaddrTest, MappedV6ComesBackAsV4) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(41641);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6.sin6_addr), 1);
  absl::StatusOr<AddrPort> ap = FromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
  ASSERT_TRUE(ap.ok());
  EXPECT_EQ(FormatAddrPort(*ap), "192.0.2.1:41641");
  EXPECT_TRUE(ap->ip.is_v4());
}

TEST(SockaddrTest, Errors) {
  EXPECT_FALSE(FromSockaddr(nullptr, 0).ok());
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  EXPECT_FALSE(FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin) - 1).ok());
  EXPECT_FALSE(FromSockaddr(reinterpret_cast<sockaddr*>(&sin), 1).ok());
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  EXPECT_FALSE(FromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof(sockaddr_in)).ok());
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  absl::Status s = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(ss)).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("family"));
}

}  // namespace
}  // namespace dprelay
