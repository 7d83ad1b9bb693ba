// `dprelayctl counters` rendering: the JSON generated from the catalogue, the text view (only
// non-zero by default, --all, sections), and the per-second rates between two samples.
#include <string>

#include "control/counters_render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dprelay::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using C = DataplaneCounter;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

ipc::StatsReply Sample() {
  ipc::StatsReply s;
  s.counters[C::kRxPackets] = 1000;
  s.counters[C::kForwardedPackets] = 900;
  s.counters[C::kForwardedPackets44] = 900;
  s.counters[C::kIpcPendingMessages] = 2;
  s.counters.drops[static_cast<size_t>(DropReason::kUnknownVni)] = 7;
  s.counters.drops[static_cast<size_t>(DropReason::kHandshakeRingFull)] = 3;
  s.workers = {{.rx_packets = 600, .tx_packets = 590, .cycles = 1000, .busy_cycles = 250},
               {.rx_packets = 400, .tx_packets = 310, .cycles = 2000, .busy_cycles = 0}};
  s.rings = {{.ring = 0, .count = 5, .capacity = 2047}, {.ring = 3, .count = 0, .capacity = 1023}};
  s.nic = {{.port = 0, .name = "rx_good_packets", .value = 1001},
           {.port = 0, .name = "rx_missed_errors", .value = 0}};
  return s;
}

TEST(CountersRenderTest, JsonHasEveryCounterOfTheCatalogueByKind) {
  const nlohmann::ordered_json j = CountersJson(Sample(), kT0);
  EXPECT_EQ(j["sampled_unix_ms"], 1'800'000'000'000);
  EXPECT_EQ(j["counters"].size() + j["gauges"].size(), kNumDataplaneCounters);
  EXPECT_EQ(j["counters"]["rx_packets"], 1000);
  EXPECT_EQ(j["counters"]["forwarded_packets_udp4_udp4"], 900);
  EXPECT_EQ(j["counters"]["nd_solicitations"], 0);
  EXPECT_EQ(j["gauges"]["ipc_pending_messages"], 2);
  EXPECT_FALSE(j["counters"].contains("ipc_pending_messages"));
  EXPECT_EQ(j["drops"].size(), kNumDropReasons);
  EXPECT_EQ(j["drops"]["unknown_vni"], 7);
  EXPECT_EQ(j["drops"]["not_bound"], 0);
  EXPECT_EQ(j["workers"][0]["busy_ratio"], 0.25);
  EXPECT_EQ(j["workers"][1]["worker"], 1);
  EXPECT_EQ(j["rings"][0]["ring"], "main_handshake");
  EXPECT_EQ(j["rings"][0]["overflows"], 3);
  EXPECT_EQ(j["rings"][1]["ring"], "exception");
  EXPECT_EQ(j["nic"][0]["port"], 0);
  EXPECT_EQ(j["nic"][0]["xstats"]["rx_good_packets"], 1001);
}

TEST(CountersRenderTest, TextShowsOnlyNonZeroUnlessAll) {
  const std::string text = RenderCounters(Sample(), kT0, /*json=*/false, /*all=*/false);
  EXPECT_THAT(text, HasSubstr("\n  rx_packets                                 1000\n"));
  EXPECT_THAT(text,
              HasSubstr("drops by reason:\n  unknown_vni                                   7\n"));
  EXPECT_THAT(text, Not(HasSubstr("nd_solicitations")));
  EXPECT_THAT(text, Not(HasSubstr("not_bound")));
  EXPECT_THAT(text, Not(HasSubstr("rx_missed_errors")));
  EXPECT_THAT(text,
              HasSubstr("  0                         25.0%              600              590\n"));
  EXPECT_THAT(
      text, HasSubstr("  main_handshake                                5       2047          3\n"));
  EXPECT_THAT(
      text, HasSubstr("nic port 0 (xstats):\n  rx_good_packets                            1001\n"));
  EXPECT_THAT(text, Not(HasSubstr("/s")));

  const std::string all = RenderCounters(Sample(), kT0, false, /*all=*/true);
  EXPECT_THAT(all, HasSubstr("\n  nd_solicitations                              0\n"));
  EXPECT_THAT(all, HasSubstr("\n  not_bound                                     0\n"));
  EXPECT_THAT(all, HasSubstr("\n  rx_missed_errors                              0\n"));
  // Every counter and drop reason has its line.
  for (const CounterInfo& c : kDataplaneCounters) {
    EXPECT_THAT(all, HasSubstr("\n  " + std::string(c.name) + " ")) << c.name;
  }

  EXPECT_EQ(RenderCounters(Sample(), kT0, /*json=*/true, false),
            CountersJson(Sample(), kT0).dump() + "\n");
}

TEST(CountersRenderTest, RatesAndBusyRatioBetweenTwoSamples) {
  const nlohmann::ordered_json before = CountersJson(Sample(), kT0);
  ipc::StatsReply later = Sample();
  later.counters[C::kRxPackets] += 500;  // 2 s later: 250/s
  later.counters.drops[static_cast<size_t>(DropReason::kUnknownVni)] += 1;
  later.workers[0].cycles += 1000;
  later.workers[0].busy_cycles += 900;  // 90% busy in the interval (57.5% since start)
  later.nic[0].value += 20;
  const nlohmann::ordered_json now = CountersJson(later, kT0 + absl::Seconds(2));
  const std::string text = RenderCountersText(now, {.all = false, .before = &before});
  EXPECT_THAT(text,
              HasSubstr("\n  rx_packets                                 1500          250.0/s\n"));
  EXPECT_THAT(text,
              HasSubstr("\n  unknown_vni                                   8            0.5/s\n"));
  EXPECT_THAT(text,
              HasSubstr("\n  rx_good_packets                            1021           10.0/s\n"));
  EXPECT_THAT(text, HasSubstr("busy (last 2s)"));
  EXPECT_THAT(text, HasSubstr("\n  0                         90.0%"));
  // A counter that went down: the dataplane restarted, its new value is the rate's count.
  ipc::StatsReply restarted;
  restarted.counters[C::kRxPackets] = 10;
  const nlohmann::ordered_json after_restart = CountersJson(restarted, kT0 + absl::Seconds(4));
  EXPECT_THAT(RenderCountersText(after_restart, {.all = false, .before = &now}),
              HasSubstr("\n  rx_packets                                   10            5.0/s\n"));
}

}  // namespace
}  // namespace dprelay::control
