// The building blocks of the main lcore's per-session state: the record pool, interned install
// parameters and the wrapping clocks.
#include <gtest/gtest.h>

#include "dataplane/coarse_clock.h"
#include "dataplane/install_params.h"
#include "dataplane/record_pool.h"

namespace dprelay {
namespace {

struct Rec {
  uint64_t a = 7;
  uint32_t b = 0;
};

TEST(RecordPool, FreedRecordsAreReusedValueInitialisedBeforeThePoolGrows) {
  RecordPool<Rec, 4> pool;
  EXPECT_EQ(pool.MemoryBytes(), 0u);
  uint32_t ids[6];
  for (uint32_t& id : ids) {
    id = pool.Alloc();
  }
  EXPECT_EQ(ids[0], 0u);
  EXPECT_EQ(ids[5], 5u);
  EXPECT_EQ(pool.high_water(), 6u);
  EXPECT_EQ(pool.live(), 6u);
  pool[ids[2]].b = 99;
  pool[ids[2]].a = 1;
  const size_t bytes = pool.MemoryBytes();
  EXPECT_GE(bytes, 2 * 4 * sizeof(Rec));  // two chunks of four
  EXPECT_LT(bytes, 3 * 4 * sizeof(Rec));
  pool.Free(ids[2]);
  pool.Free(ids[4]);
  EXPECT_EQ(pool.live(), 4u);
  EXPECT_EQ(pool.Alloc(), ids[4]);  // last freed first
  const uint32_t again = pool.Alloc();
  EXPECT_EQ(again, ids[2]);
  EXPECT_EQ(pool[again].a, 7u);
  EXPECT_EQ(pool[again].b, 0u);
  EXPECT_EQ(pool.high_water(), 6u);
  // Records never move: a reference stays valid while the pool grows.
  Rec* first = &pool[ids[0]];
  for (int i = 0; i < 100; ++i) {
    pool.Alloc();
  }
  EXPECT_EQ(first, &pool[ids[0]]);
  EXPECT_EQ(pool.high_water(), 106u);
}

InstallParams Params(uint8_t key, int64_t bind_s = 30, int64_t steady_s = 300) {
  InstallParams p;
  p.server_key.bytes.fill(key);
  p.bind_lifetime_ns = bind_s * 1'000'000'000;
  p.steady_state_lifetime_ns = steady_s * 1'000'000'000;
  return p;
}

TEST(InstallParamsTable, EqualParametersShareOneEntryUntilTheLastReferenceGoes) {
  InstallParamsTable t;
  absl::StatusOr<uint16_t> a = t.Acquire(Params(1));
  absl::StatusOr<uint16_t> a2 = t.Acquire(Params(1));
  absl::StatusOr<uint16_t> b = t.Acquire(Params(2));
  absl::StatusOr<uint16_t> c = t.Acquire(Params(1, 10));
  ASSERT_TRUE(a.ok() && a2.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *a2);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(t.live(), 3u);
  EXPECT_EQ(t[*b], Params(2));
  EXPECT_EQ(t[*c].bind_lifetime_ns, 10'000'000'000);
  t.Release(*a);
  EXPECT_EQ(t.live(), 3u);
  t.Release(*a2);
  EXPECT_EQ(t.live(), 2u);
  // The freed entry is reused rather than the table growing.
  const size_t bytes = t.MemoryBytes();
  absl::StatusOr<uint16_t> d = t.Acquire(Params(3));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, *a);
  EXPECT_EQ(t[*d], Params(3));
  EXPECT_EQ(t.MemoryBytes(), bytes);
}

TEST(InstallParamsTable, LifetimesOutsideZeroTo24HoursAreRefused) {
  InstallParamsTable t;
  EXPECT_EQ(t.Acquire(Params(1, 0)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Acquire(Params(1, 30, -5)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Acquire(Params(1, 30, 24 * 3600 + 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(t.Acquire(Params(1, 24 * 3600, 24 * 3600)).ok());
  EXPECT_EQ(t.live(), 1u);
}

TEST(CoarseClock, StampsAreExactAcrossTheWrap) {
  const uint64_t wrap_ms = (uint64_t{1} << 32) * kNsPerMs;
  const uint64_t before = wrap_ms - 500 * kNsPerMs;  // 500 ms before the 32-bit clock wraps
  const uint64_t after = wrap_ms + 1500 * kNsPerMs;
  EXPECT_GT(MsStamp(before), MsStamp(after));
  EXPECT_EQ(StampAge(MsStamp(after), MsStamp(before)), 2000u);
  EXPECT_EQ(StampsApart(UsStamp(after), UsStamp(before)), 2'000'000u);
  // A stamp taken after the caller read its clock is no time ago, not 49 days.
  EXPECT_EQ(StampAge(MsStamp(before), MsStamp(before + kNsPerMs)), 0u);
}

}  // namespace
}  // namespace dprelay
