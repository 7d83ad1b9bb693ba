// The main lcore's per-source handshake limit: IPv4 addresses and IPv6 /64s each have a
// budget, kept in a fixed table of hashed buckets.
#include <gtest/gtest.h>

#include "dataplane/handshake_limiter.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

IpAddr Ip(const char* text) { return *ParseIp(text); }

// How many of n packets at one instant a source gets through.
int Allowed(HandshakeLimiter& l, const IpAddr& src, int n, uint64_t now_ns) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    ok += l.Allow(src, now_ns) ? 1 : 0;
  }
  return ok;
}

TEST(HandshakeLimiterTest, EachAddressHasItsBurstThenItsRate) {
  HandshakeLimiter l(/*rate=*/50, /*burst=*/100);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 150, 1'000'000'000), 100);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.2"), 150, 1'000'000'000), 100);   // another address
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 50, 1'100'000'000), 5);      // 100 ms at 50/s
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 200, 60'000'000'000), 100);  // idle: full again
}

TEST(HandshakeLimiterTest, AnIpv6Slash64IsOneSource) {
  EXPECT_EQ(HandshakeLimiter::SourceKey(Ip("2001:db8:1:2:ffff::9")), Ip("2001:db8:1:2::"));
  EXPECT_EQ(HandshakeLimiter::SourceKey(Ip("192.0.2.7")), Ip("192.0.2.7"));
  HandshakeLimiter l(50, 100);
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2::1"), 60, 1), 60);
  // The same /64, other interface identifiers: the same budget.
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2:ffff::9"), 60, 1), 40);
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2:1:2:3:4"), 10, 1), 0);
}

TEST(HandshakeLimiterTest, MemoryIsFixedWhateverTheSourcesAndMostSourcesKeepTheirBudget) {
  HandshakeLimiter l(50, 100, /*buckets_log2=*/10);
  EXPECT_EQ(l.buckets(), 1024u);
  // 100000 sources (a flood of spoofed ones, or a very busy relay), 4 packets each: the
  // table does not grow, and sharing buckets leaves each source nearly all it asked for.
  int allowed = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    allowed += Allowed(l, IpAddr::V4FromBe(0x0a000000 + i), 4, 1'000'000);
  }
  EXPECT_EQ(l.buckets(), 1024u);
  EXPECT_EQ(allowed, 1024 * 100);  // each bucket gave its burst, shared by ~98 sources
  // With as many buckets as sources there is room for everyone's 4.
  HandshakeLimiter big(50, 100, /*buckets_log2=*/17);
  allowed = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    allowed += Allowed(big, IpAddr::V4FromBe(0x0a000000 + i), 4, 1'000'000);
  }
  EXPECT_EQ(allowed, 400000);
}

}  // namespace
}  // namespace dprelay
