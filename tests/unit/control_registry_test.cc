#include <vector>

#include "control/registry.h"
#include "control_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/geneve.h"

namespace dprelay::control {
namespace {

using ::testing::ElementsAre;
using testing::MemoryLamportStore;
using testing::Pair;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

class RegistryTest : public ::testing::Test {
 protected:
  uint32_t AllocVni(Registry& r, int i) {
    absl::StatusOr<Allocation> a = r.Allocate(Pair(i), {}, kT0);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? a->endpoint.vni : 0;
  }

  MemoryLamportStore store_;
};

TEST_F(RegistryTest, VnisAndLamportIdsStartAtOne) {
  Registry r({}, &store_);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Allocation> a = r.Allocate(Pair(i), {}, kT0);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(a->created);
    EXPECT_EQ(a->endpoint.vni, static_cast<uint32_t>(i + 1));
    EXPECT_EQ(a->endpoint.lamport_id, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(a->endpoint.client_keys, Pair(i));
    EXPECT_EQ(a->endpoint.allocated_at, kT0);
    EXPECT_FALSE(a->endpoint.bound[0].valid());
    EXPECT_FALSE(a->endpoint.bound[1].valid());
  }
  EXPECT_EQ(r.size(), 5u);
}

TEST_F(RegistryTest, SamePairReturnsTheSameEndpointUnchanged) {
  Registry r({}, &store_);
  std::array<SharedKey, 2> shared{};
  shared[0].bytes[0] = 7;
  absl::StatusOr<Allocation> first = r.Allocate(Pair(1), shared, kT0);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(r.Allocate(Pair(2), {}, kT0).ok());
  ASSERT_TRUE(r.RecordBound(first->endpoint.vni, 0, *ParseAddrPort("192.0.2.1:5")));
  std::array<SharedKey, 2> other{};
  other[0].bytes[0] = 9;
  absl::StatusOr<Allocation> again = r.Allocate(Pair(1), other, kT0 + absl::Seconds(10));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->endpoint.vni, first->endpoint.vni);
  EXPECT_EQ(again->endpoint.lamport_id, first->endpoint.lamport_id);
  EXPECT_EQ(again->endpoint.allocated_at, kT0);  // no refresh
  EXPECT_EQ(again->endpoint.shared[0].bytes[0], 7);
  EXPECT_EQ(FormatAddrPort(again->endpoint.bound[0]), "192.0.2.1:5");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.last_lamport_id(), 2u);
}

TEST_F(RegistryTest, RejectsUnsortedOrEqualKeys) {
  Registry r({}, &store_);
  KeyPair p = Pair(1);
  EXPECT_EQ(r.Allocate({p[1], p[0]}, {}, kT0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Allocate({p[0], p[0]}, {}, kT0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.size(), 0u);
}

TEST_F(RegistryTest, FreedVniIsReusedOnlyAfterTheCursorWraps) {
  Registry r({.capacity = 10}, &store_);
  EXPECT_EQ(AllocVni(r, 0), 1u);
  EXPECT_EQ(AllocVni(r, 1), 2u);
  ASSERT_TRUE(r.Remove(1));
  EXPECT_EQ(r.FindByPair(Pair(0)), nullptr);
  EXPECT_EQ(r.FindByVni(1), nullptr);
  EXPECT_EQ(AllocVni(r, 2), 3u);
  // The same pair again is a new endpoint with a new LamportID.
  absl::StatusOr<Allocation> a = r.Allocate(Pair(0), {}, kT0);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->created);
  EXPECT_EQ(a->endpoint.vni, 4u);
  EXPECT_EQ(a->endpoint.lamport_id, 4u);
}

TEST_F(RegistryTest, WrapsSkipsLiveAndReportsExhaustion) {
  Registry r({.capacity = 4}, &store_);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(AllocVni(r, i), static_cast<uint32_t>(i + 1));
  }
  absl::StatusOr<Allocation> full = r.Allocate(Pair(100), {}, kT0);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.status().message(), "VNI pool exhausted");
  // A full pool burns no LamportID.
  EXPECT_EQ(r.last_lamport_id(), 4u);

  ASSERT_TRUE(r.Remove(2));
  EXPECT_EQ(AllocVni(r, 5), 2u);  // cursor wrapped to 1 (live), then 2
  ASSERT_TRUE(r.Remove(4));
  ASSERT_TRUE(r.Remove(1));
  EXPECT_EQ(AllocVni(r, 6), 4u);  // cursor at 3 (live), then 4
  EXPECT_EQ(AllocVni(r, 7), 1u);  // wraps to 1
  EXPECT_EQ(r.Allocate(Pair(8), {}, kT0).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.last_lamport_id(), 7u);
}

TEST_F(RegistryTest, CapacityOfOne) {
  Registry r({.capacity = 1}, &store_);
  EXPECT_EQ(AllocVni(r, 0), 1u);
  EXPECT_FALSE(r.Allocate(Pair(1), {}, kT0).ok());
  ASSERT_TRUE(r.Remove(1));
  EXPECT_EQ(AllocVni(r, 1), 1u);
}

TEST_F(RegistryTest, SetCapacityClampsAndResetsTheCursor) {
  Registry r({.capacity = 0}, &store_);
  EXPECT_EQ(r.capacity(), kMaxVni);
  r.SetCapacity(0xFFFFFFFF);
  EXPECT_EQ(r.capacity(), kMaxVni);
  for (int i = 0; i < 5; ++i) {
    AllocVni(r, i);
  }
  r.SetCapacity(3);  // cursor was 6
  EXPECT_EQ(r.capacity(), 3u);
  ASSERT_TRUE(r.Remove(2));
  EXPECT_EQ(AllocVni(r, 10), 2u);
  EXPECT_EQ(r.FindByVni(5)->client_keys, Pair(4));  // kept; the dataplane decides
}

TEST_F(RegistryTest, RecordBoundAndRemove) {
  Registry r({}, &store_);
  uint32_t vni = AllocVni(r, 0);
  AddrPort a = *ParseAddrPort("192.0.2.1:41641");
  AddrPort b = *ParseAddrPort("[2001:db8::1]:7");
  EXPECT_TRUE(r.RecordBound(vni, 1, b));
  EXPECT_TRUE(r.RecordBound(vni, 0, a));
  EXPECT_FALSE(r.RecordBound(vni, 2, a));
  EXPECT_FALSE(r.RecordBound(vni + 1, 0, a));
  const Endpoint* ep = r.FindByVni(vni);
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(ep->bound[0], a);
  EXPECT_EQ(ep->bound[1], b);
  EXPECT_EQ(r.FindByPair(Pair(0)), ep);
  EXPECT_TRUE(r.Remove(vni));
  EXPECT_FALSE(r.Remove(vni));
  EXPECT_EQ(r.size(), 0u);
}

TEST_F(RegistryTest, ForEachFromVisitsInVniOrder) {
  Registry r({}, &store_);
  for (int i = 0; i < 6; ++i) {
    AllocVni(r, i);
  }
  r.Remove(3);
  std::vector<uint32_t> seen;
  r.ForEachFrom(0, [&](const Endpoint& ep) {
    seen.push_back(ep.vni);
    return true;
  });
  EXPECT_THAT(seen, ElementsAre(1, 2, 4, 5, 6));
  seen.clear();
  r.ForEachFrom(3, [&](const Endpoint& ep) {
    seen.push_back(ep.vni);
    return seen.size() < 2;
  });
  EXPECT_THAT(seen, ElementsAre(4, 5));
}

TEST_F(RegistryTest, LamportIdsAreReservedInBlocksBeforeUse) {
  MemoryLamportStore store(100);
  Registry r({.lamport_reserve_block = 3}, &store);
  std::vector<uint64_t> ids;
  std::vector<uint64_t> marks;
  for (int i = 0; i < 7; ++i) {
    absl::StatusOr<Allocation> a = r.Allocate(Pair(i), {}, kT0);
    ASSERT_TRUE(a.ok());
    ids.push_back(a->endpoint.lamport_id);
    marks.push_back(store.value());
    EXPECT_LE(a->endpoint.lamport_id, store.value());
  }
  EXPECT_THAT(ids, ElementsAre(101, 102, 103, 104, 105, 106, 107));
  EXPECT_THAT(marks, ElementsAre(103, 103, 103, 106, 106, 106, 109));
  EXPECT_EQ(store.stores(), 3);
}

TEST_F(RegistryTest, LamportPersistFailureAllocatesNothing) {
  MemoryLamportStore store(0);
  Registry r({.lamport_reserve_block = 1}, &store);
  ASSERT_TRUE(r.Allocate(Pair(0), {}, kT0).ok());
  store.set_fail(true);
  absl::StatusOr<Allocation> a = r.Allocate(Pair(1), {}, kT0);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.FindByPair(Pair(1)), nullptr);
  store.set_fail(false);
  a = r.Allocate(Pair(1), {}, kT0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->endpoint.lamport_id, 2u);
}

}  // namespace
}  // namespace dprelay::control
