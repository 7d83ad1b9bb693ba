#include "control/health.h"

#include "absl/strings/str_cat.h"

namespace dprelay::control {

void HealthMonitor::OnStats(absl::Time now, const DataplaneCounterValues& counters) {
  last_stats_ = now;
  // Any change counts: a restarted dataplane starts again from zero.
  const uint64_t cycles = counters[DataplaneCounter::kWorkerCycles];
  if (cycles != last_worker_cycles_) {
    last_advance_ = now;
    last_worker_cycles_ = cycles;
  }
}

HealthVerdict HealthMonitor::Check(absl::Time now, DataplaneLink::State link) const {
  switch (link) {
    case DataplaneLink::State::kDisconnected:
    case DataplaneLink::State::kConnecting:
      return {false, "dataplane not connected"};
    case DataplaneLink::State::kConnected:
    case DataplaneLink::State::kSyncing:
      return {false, "dataplane connected, session sync not finished"};
    case DataplaneLink::State::kReady:
      break;
  }
  if (now - last_stats_ > kMaxStatsAge) {
    return {false, last_stats_ == absl::InfinitePast()
                       ? "dataplane has not answered a stats poll yet"
                       : absl::StrCat("dataplane has not answered a stats poll for ",
                                      absl::FormatDuration(absl::Trunc(now - last_stats_,
                                                                       absl::Milliseconds(100))))};
  }
  if (now - last_advance_ > kMaxWorkerStall) {
    return {false, last_advance_ == absl::InfinitePast()
                       ? "dataplane worker loops not seen advancing yet"
                       : absl::StrCat("dataplane worker loops have not advanced for ",
                                      absl::FormatDuration(absl::Trunc(now - last_advance_,
                                                                       absl::Milliseconds(100))))};
  }
  return {true, "ok"};
}

}  // namespace dprelay::control
