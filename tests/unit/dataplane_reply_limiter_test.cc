// The limits on answers to unauthenticated packets: per destination (IPv4 address or IPv6
// /64, narrowed by a salt) in a fixed table of hashed buckets, and in all.
#include <gtest/gtest.h>

#include "dataplane/reply_limiter.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

IpAddr Ip(const char* text) { return *ParseIp(text); }

// How many of n answers at one instant go to dst.
int Allowed(DestinationLimiter& l, const IpAddr& dst, int n, uint64_t now_ns, uint32_t salt = 0) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    ok += l.Allow(dst, salt, now_ns) ? 1 : 0;
  }
  return ok;
}

TEST(DestinationLimiterTest, EachDestinationHasItsBurstThenItsRate) {
  DestinationLimiter l(/*rate=*/50, /*burst=*/100, /*buckets_log2=*/18);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 150, 1'000'000'000), 100);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.2"), 150, 1'000'000'000), 100);   // another address
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 50, 1'100'000'000), 5);      // 100 ms at 50/s
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 200, 60'000'000'000), 100);  // idle: full again
}

TEST(DestinationLimiterTest, ASaltGivesEachSessionItsOwnBudgetAtOneDestination) {
  DestinationLimiter l(10, 20, 18);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 30, 1, /*salt=*/7), 20);
  EXPECT_EQ(Allowed(l, Ip("192.0.2.1"), 30, 1, /*salt=*/8), 20);
}

TEST(DestinationLimiterTest, AnIpv6Slash64IsOneDestination) {
  DestinationLimiter l(50, 100, 18);
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2::1"), 60, 1), 60);
  // The same /64, other interface identifiers: the same budget.
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2:ffff::9"), 60, 1), 40);
  EXPECT_EQ(Allowed(l, Ip("2001:db8:1:2:1:2:3:4"), 10, 1), 0);
}

TEST(DestinationLimiterTest, MemoryIsFixedWhateverTheDestinationsAndMostKeepTheirBudget) {
  DestinationLimiter l(50, 100, /*buckets_log2=*/10);
  EXPECT_EQ(l.buckets(), 1024u);
  // 100000 destinations (spoofed sources, or a very busy relay), 4 answers each: the table
  // does not grow, and sharing buckets leaves each destination nearly all it asked for.
  int allowed = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    allowed += Allowed(l, IpAddr::V4FromBe(0x0a000000 + i), 4, 1'000'000);
  }
  EXPECT_EQ(l.buckets(), 1024u);
  EXPECT_EQ(allowed, 1024 * 100);  // each bucket gave its burst, shared by ~98 destinations
  // With as many buckets as destinations there is room for everyone's 4.
  DestinationLimiter big(50, 100, /*buckets_log2=*/17);
  allowed = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    allowed += Allowed(big, IpAddr::V4FromBe(0x0a000000 + i), 4, 1'000'000);
  }
  EXPECT_EQ(allowed, 400000);
}

TEST(ReplyLimiterTest, TheDestinationLimitComesFirstThenTheGlobalOneEachWithItsReason) {
  const ReplyLimit limit{.dest_rate = 1,
                         .dest_burst = 2,
                         .buckets_log2 = 8,
                         .global_rate = 1,
                         .global_burst = 3,
                         .dest_reason = DropReason::kIcmpLimitedDest,
                         .global_reason = DropReason::kIcmpLimitedGlobal};
  ReplyLimiter l(limit);
  EXPECT_EQ(l.Allow(Ip("192.0.2.1"), 0, 1), std::nullopt);
  EXPECT_EQ(l.Allow(Ip("192.0.2.1"), 0, 1), std::nullopt);
  EXPECT_EQ(l.Allow(Ip("192.0.2.1"), 0, 1), DropReason::kIcmpLimitedDest);
  EXPECT_EQ(l.Allow(Ip("192.0.2.2"), 0, 1), std::nullopt);  // third of the global burst
  EXPECT_EQ(l.Allow(Ip("192.0.2.3"), 0, 1), DropReason::kIcmpLimitedGlobal);
}

TEST(ReplyLimiterTest, EachKindOfAnswerHasAGlobalCeilingOverAllDestinations) {
  // Spoofed sources spread over every address still meet the ceiling of their kind: one
  // answer to each of more distinct destinations than the global burst, at one instant.
  for (const ReplyLimit& limit :
       {ReplyLimiter::kChallenges, ReplyLimiter::kEcho, ReplyLimiter::kNeighbour}) {
    ReplyLimiter l(limit);
    uint32_t allowed = 0;
    std::optional<DropReason> last;
    for (uint32_t i = 0; i < limit.global_burst + 100; ++i) {
      last = l.Allow(IpAddr::V4FromBe(0x0a000000 + i), i, 1'000'000);
      allowed += last ? 0 : 1;
    }
    EXPECT_GE(allowed, limit.global_burst * 9 / 10);  // hash collisions cost a few
    EXPECT_LE(allowed, limit.global_burst);
    EXPECT_EQ(last, limit.global_reason);
  }
  EXPECT_EQ(ReplyLimiter::kChallenges.global_reason, DropReason::kChallengeLimitedGlobal);
  EXPECT_EQ(ReplyLimiter::kEcho.global_reason, DropReason::kIcmpLimitedGlobal);
  EXPECT_EQ(ReplyLimiter::kNeighbour.global_reason, DropReason::kNeighbourLimitedGlobal);
}

}  // namespace
}  // namespace dprelay
