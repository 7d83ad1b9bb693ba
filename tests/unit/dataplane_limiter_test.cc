// The main lcore's per-source handshake limit: IPv4 addresses and IPv6 /64s each get their
// own bucket, and the table is bounded.
#include <gtest/gtest.h>

#include "dataplane/handshake_limiter.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

IpAddr Ip(const char* text) { return *ParseIp(text); }

// How many of n packets at one instant a source gets through.
int Allowed(HandshakeLimiter& l, const char* src, int n, uint64_t now_ns) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    ok += l.Allow(Ip(src), now_ns) ? 1 : 0;
  }
  return ok;
}

TEST(HandshakeLimiterTest, EachAddressHasItsBurstThenItsRate) {
  HandshakeLimiter l(/*rate=*/50, /*burst=*/100);
  EXPECT_EQ(Allowed(l, "192.0.2.1", 150, 1'000'000'000), 100);
  EXPECT_EQ(Allowed(l, "192.0.2.2", 150, 1'000'000'000), 100);  // another address
  EXPECT_EQ(Allowed(l, "192.0.2.1", 50, 1'100'000'000), 5);     // 100 ms at 50/s
}

TEST(HandshakeLimiterTest, AnIpv6Slash64IsOneSource) {
  HandshakeLimiter l(50, 100);
  EXPECT_EQ(Allowed(l, "2001:db8:1:2::1", 60, 1), 60);
  // The same /64, other interface identifiers: the same bucket.
  EXPECT_EQ(Allowed(l, "2001:db8:1:2:ffff::9", 60, 1), 40);
  EXPECT_EQ(Allowed(l, "2001:db8:1:2:1:2:3:4", 10, 1), 0);
  // The next /64 is another source.
  EXPECT_EQ(Allowed(l, "2001:db8:1:3::1", 10, 1), 10);
  EXPECT_EQ(l.tracked(), 2u);
}

TEST(HandshakeLimiterTest, SourcesBeyondTheTableShareOneBucket) {
  HandshakeLimiter l(50, 10, /*max_buckets=*/3);
  EXPECT_EQ(Allowed(l, "192.0.2.1", 10, 1), 10);
  EXPECT_EQ(Allowed(l, "192.0.2.2", 10, 1), 10);
  EXPECT_EQ(Allowed(l, "192.0.2.3", 10, 1), 10);
  // The table is full: the next sources share the overflow bucket's burst of 10.
  EXPECT_EQ(Allowed(l, "192.0.2.4", 6, 1), 6);
  EXPECT_EQ(Allowed(l, "192.0.2.5", 6, 1), 4);
  EXPECT_EQ(l.tracked(), 4u);  // three sources and the overflow bucket
  // A minute later the idle buckets are forgotten to make room again.
  const uint64_t later = HandshakeLimiter::kForgetNs + 2;
  EXPECT_EQ(Allowed(l, "192.0.2.6", 10, later), 10);
  EXPECT_EQ(l.tracked(), 1u);
}

}  // namespace
}  // namespace dprelay
