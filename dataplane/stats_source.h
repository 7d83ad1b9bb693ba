// What the dataplane shows of itself (the IPC StatsReply, DPDK telemetry), gathered off the
// fast path on any thread: the per-lcore counter blocks with relaxed loads, as the main lcore
// sums them (the owners keep counting meanwhile), and the rings' occupancy (rte_ring_count
// reads the ring's head and tail, safe from any thread).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "dataplane/counters.h"
#include "proto/counter_catalogue.h"
#include "proto/ipc.h"

struct rte_ring;

namespace dprelay {

struct StatsSource {
  const LcoreCounters* blocks = nullptr;  // one per worker, then the main lcore's
  size_t n_blocks = 0;
  std::array<const rte_ring*, kNumRings> rings{};  // kRings order; nullptr: not configured

  DataplaneCounterValues Counters() const { return SumCounters(blocks, n_blocks); }
  // One entry per worker (every block but the main lcore's, which is last).
  std::vector<ipc::WorkerStats> Workers() const;
  // The configured rings.
  std::vector<ipc::RingStats> Rings() const;
};

}  // namespace dprelay
