#include "client/path_monitor.h"

#include <algorithm>

namespace dprelay::client {
namespace {

PathMonitor::Clock::duration ToClock(absl::Duration d) {
  return std::chrono::duration_cast<PathMonitor::Clock::duration>(absl::ToChronoNanoseconds(d));
}

}  // namespace

const char* RebindReasonName(RebindReason reason) {
  switch (reason) {
#define DPRELAY_X(name, text) \
  case RebindReason::name:    \
    return text;
    DPRELAY_REBIND_REASONS(DPRELAY_X)
#undef DPRELAY_X
    case RebindReason::kCount:
      break;
  }
  return "unknown";
}

void PathMonitor::OnBound(Clock::time_point now, const AddrPort& local) {
  bound_ = true;
  answered_ = false;
  local_ = local;
  last_alive_ = now;
  next_ping_ = now;
  next_local_check_ = now + ToClock(config_.local_check_interval);
}

void PathMonitor::OnPong(Clock::time_point now) {
  last_alive_ = std::max(last_alive_, now);
  answered_ = true;
}

PathMonitor::Decision PathMonitor::Next(Clock::time_point now,
                                        const std::function<AddrPort()>& observe_local) {
  if (!bound_) {
    return {};
  }
  if (now >= next_local_check_) {
    next_local_check_ = now + ToClock(config_.local_check_interval);
    if (observe_local() != local_) {
      bound_ = false;
      return {.action = Action::kRebind, .reason = RebindReason::kLocalChanged};
    }
  }
  if (now - last_alive_ >= ToClock(config_.dead_after)) {
    bound_ = false;
    return {.action = Action::kRebind, .reason = RebindReason::kPathDead};
  }
  if (now >= next_ping_) {
    next_ping_ = now + ToClock(config_.ping_interval);
    return {.action = Action::kPing};
  }
  return {};
}

PathMonitor::Clock::time_point PathMonitor::NextWake() const {
  if (!bound_) {
    return Clock::time_point::max();
  }
  return std::min({next_ping_, next_local_check_, last_alive_ + ToClock(config_.dead_after)});
}

}  // namespace dprelay::client
