#include "dataplane/stats_source.h"

#include <rte_ring.h>

namespace dprelay {

std::vector<ipc::WorkerStats> StatsSource::Workers() const {
  std::vector<ipc::WorkerStats> out;
  for (size_t i = 0; i + 1 < n_blocks; ++i) {
    const LcoreCounters& b = blocks[i];
    out.push_back({.rx_packets = b.rx_packets.load(std::memory_order_relaxed),
                   .tx_packets = b.tx_packets.load(std::memory_order_relaxed),
                   .cycles = b.worker_cycles.load(std::memory_order_relaxed),
                   .busy_cycles = b.worker_busy_cycles.load(std::memory_order_relaxed)});
  }
  return out;
}

std::vector<ipc::RingStats> StatsSource::Rings() const {
  std::vector<ipc::RingStats> out;
  for (size_t i = 0; i < kNumRings; ++i) {
    if (rings[i] != nullptr) {
      out.push_back({.ring = static_cast<uint8_t>(i),
                     .count = rte_ring_count(rings[i]),
                     .capacity = rte_ring_get_capacity(rings[i])});
    }
  }
  return out;
}

}  // namespace dprelay
