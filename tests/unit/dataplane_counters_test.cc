// The counter catalogue (proto/counter_catalogue.h) and SumCounters: every counter of the
// catalogue is filled from the lcore blocks, the derived totals are sums of their parts, and
// the names the dataplane logs come from the catalogue.
#include <set>
#include <string>

#include "dataplane/counters.h"
#include "gtest/gtest.h"

namespace dprelay {
namespace {

using C = DataplaneCounter;

TEST(CounterCatalogueTest, NamesAreUniqueAndMetricNamesArePrometheusNames) {
  std::set<std::string_view> names;
  for (const CounterInfo& c : kDataplaneCounters) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_FALSE(c.help.empty()) << c.name;
    for (char ch : c.metric) {
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') << c.metric;
    }
  }
  std::set<std::string> drop_names;
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    const std::string name = DropCounterName(static_cast<DropReason>(r));
    EXPECT_FALSE(names.contains(name)) << name;
    EXPECT_TRUE(drop_names.insert(name).second) << name;
  }
  EXPECT_EQ(InfoOf(C::kForwardedPackets64).metric, "tailscaled_peer_relay_forwarded_packets_total");
  EXPECT_EQ(InfoOf(C::kForwardedPackets64).labels.labels[0].value, "udp6");
  EXPECT_EQ(InfoOf(C::kForwardedPackets64).labels.labels[1].value, "udp4");
}

TEST(SumCountersTest, EveryCatalogueCounterIsSummedOverTheLcores) {
  LcoreCounters blocks[2];
  // Every member of both blocks gets a distinct non-zero value.
  uint64_t next = 1;
  for (LcoreCounters& b : blocks) {
    for (auto* m : {&b.rx_packets,           &b.tx_packets,          &b.forwarded_packets,
                    &b.forwarded_bytes,      &b.challenges_sent,     &b.legs_bound,
                    &b.arp_replies,          &b.arp_requests,        &b.icmp_echo_replies,
                    &b.nd_advertisements,    &b.nd_solicitations,    &b.mld_reports,
                    &b.to_exception,         &b.exception_to_kernel, &b.exception_from_kernel,
                    &b.worker_cycles,        &b.worker_busy_cycles,  &b.ipc_queued_messages,
                    &b.ipc_pending_messages, &b.ipc_queue_overflows, &b.ipc_refused_peers}) {
      Bump(*m, next++);
    }
    for (size_t p = 0; p < kNumFamilyPaths; ++p) {
      Bump(b.family_packets[p], next++);
      Bump(b.family_bytes[p], next++);
    }
    for (auto& c : b.to_main) {
      Bump(c, next++);
    }
    b.Drop(DropReason::kUnknownVni, next++);
  }
  const DataplaneCounterValues v = SumCounters(blocks, 2);
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    EXPECT_NE(v.counters[i], 0u) << kDataplaneCounters[i].name << " is never filled";
  }
  EXPECT_EQ(v[C::kRxPackets], blocks[0].rx_packets + blocks[1].rx_packets);
  EXPECT_EQ(v[C::kForwardedPackets44], blocks[0].forwarded_packets + blocks[1].forwarded_packets);
  const size_t v6v4 = static_cast<size_t>(FamilyPath::kV6ToV4);
  EXPECT_EQ(v[C::kForwardedBytes64], blocks[0].family_bytes[v6v4] + blocks[1].family_bytes[v6v4]);
  EXPECT_EQ(v[C::kForwardedPackets], v[C::kForwardedPackets44] + v[C::kForwardedPackets46] +
                                         v[C::kForwardedPackets64] + v[C::kForwardedPackets66]);
  EXPECT_EQ(v[C::kForwardedBytes], v[C::kForwardedBytes44] + v[C::kForwardedBytes46] +
                                       v[C::kForwardedBytes64] + v[C::kForwardedBytes66]);
  EXPECT_EQ(v[C::kToMain], v[C::kToMainHandshake] + v[C::kToMainNeighbour] + v[C::kToMainIcmp]);
  EXPECT_EQ(v[C::kIpcRefusedPeers], blocks[0].ipc_refused_peers + blocks[1].ipc_refused_peers);
  EXPECT_EQ(v.drop(DropReason::kUnknownVni),
            blocks[0].drops[static_cast<size_t>(DropReason::kUnknownVni)] +
                blocks[1].drops[static_cast<size_t>(DropReason::kUnknownVni)]);
  EXPECT_EQ(v.drop(DropReason::kNotBound), 0u);
}

TEST(SumCountersTest, NamedCountersListEveryCounterAndTheNonZeroDrops) {
  LcoreCounters block;
  Bump(block.legs_bound, 2);
  block.Drop(DropReason::kArpNotForUs);
  const auto named = NamedCounters(SumCounters(&block, 1));
  ASSERT_EQ(named.size(), kNumDataplaneCounters + 1);
  EXPECT_EQ(named[0], (std::pair<std::string, uint64_t>{"rx_packets", 0}));
  EXPECT_EQ(named[static_cast<size_t>(C::kLegsBound)],
            (std::pair<std::string, uint64_t>{"legs_bound", 2}));
  EXPECT_EQ(named.back(), (std::pair<std::string, uint64_t>{"drop_arp_not_for_us", 1}));
}

}  // namespace
}  // namespace dprelay
