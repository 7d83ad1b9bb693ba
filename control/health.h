// What "healthy" means for a load balancer's health check (--health_listen, GET /healthz): the
// dataplane is forwarding. Precisely, all of:
//   1. the dataplane link is connected and synced (allocations are being answered);
//   2. the dataplane answered a stats poll within the last kMaxStatsAge: its main lcore (which
//      answers IPC, handshakes and ARP) is running;
//   3. its workers' loop-cycle counter (worker_cycles, published every 1024 loop iterations)
//      advanced within the last kMaxWorkerStall: the worker loops are turning.
// The stats polls go out every second (control_server.cc), so a healthy dataplane is seen
// fresh several times within each window; a stopped or hung one turns unhealthy within ~3 s.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "control/dataplane_link.h"
#include "proto/counter_catalogue.h"

namespace dprelay::control {

struct HealthVerdict {
  bool healthy = false;
  std::string reason;  // "ok", or why not, for the 503 body
};

// Not thread-safe: the control loop's thread only.
class HealthMonitor {
 public:
  static constexpr absl::Duration kMaxStatsAge = absl::Seconds(2);
  // Longer than the stats window: with --idle_sleep_us in the low milliseconds, 1024 idle
  // loop iterations take over a second.
  static constexpr absl::Duration kMaxWorkerStall = absl::Seconds(3);

  // A StatsReply arrived with these counters.
  void OnStats(absl::Time now, const DataplaneCounterValues& counters);
  HealthVerdict Check(absl::Time now, DataplaneLink::State link) const;

 private:
  absl::Time last_stats_ = absl::InfinitePast();
  absl::Time last_advance_ = absl::InfinitePast();
  uint64_t last_worker_cycles_ = 0;
};

}  // namespace dprelay::control
