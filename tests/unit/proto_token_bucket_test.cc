// The token buckets both processes' limits are made of: a bucket starts full, refills per
// millisecond up to its burst, and a table's memory is fixed whatever keys arrive.
#include <gtest/gtest.h>

#include "proto/token_bucket.h"

namespace dprelay {
namespace {

TEST(TokenBucketTest, StartsFullRefillsPerMillisecondUpToItsBurst) {
  const TokenRate rate{.per_second = 1000, .burst = 10};
  TokenBucket b;
  int taken = 0;
  for (int i = 0; i < 20; ++i) taken += b.Take(rate, 5) ? 1 : 0;
  EXPECT_EQ(taken, 10);
  EXPECT_FALSE(b.Take(rate, 5));
  EXPECT_TRUE(b.Take(rate, 6));  // 1 ms at 1000/s: one token
  EXPECT_FALSE(b.Take(rate, 6));
  taken = 0;
  for (int i = 0; i < 20; ++i) taken += b.Take(rate, 60'000) ? 1 : 0;
  EXPECT_EQ(taken, 10);  // idle: full again, never more than the burst
}

TEST(TokenBucketTest, ReadyDoesNotSpendAndAZeroRateNeverRefills) {
  const TokenRate none{.per_second = 0, .burst = 2};
  TokenBucket b;
  EXPECT_TRUE(b.Ready(none, 1));
  EXPECT_TRUE(b.Ready(none, 1));
  b.Spend();
  b.Spend();
  EXPECT_FALSE(b.Take(none, 1'000'000));
}

TEST(TokenBucketTest, AClockThatWrapsOnlyShortensOneRefill) {
  const TokenRate rate{.per_second = 1000, .burst = 5};
  TokenBucket b;
  while (b.Take(rate, UINT32_MAX - 1)) {
  }
  EXPECT_TRUE(b.Take(rate, 2));  // 4 ms later across the wrap
}

TEST(TokenBucketTableTest, MemoryIsFixedAndKeysThatShareASlotShareItsBudget) {
  TokenBucketTable<uint32_t> t(4);
  EXPECT_EQ(t.slots(), 16u);
  const TokenRate rate{.per_second = 1, .burst = 1};
  int allowed = 0;
  for (uint32_t k = 0; k < 1000; ++k) allowed += t.BucketOf(k).Take(rate, 1) ? 1 : 0;
  EXPECT_EQ(allowed, 16);  // one per slot
  EXPECT_EQ(t.slots(), 16u);
}

}  // namespace
}  // namespace dprelay
