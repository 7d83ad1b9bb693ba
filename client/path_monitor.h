// When a bridge leg should ping the peer through the relay, and when it should run the
// handshake again: its relay-facing address changed, or the path stopped answering. Pure
// logic over a clock the caller passes in, so that it is tested without sockets or sleeps.
#pragma once

#include <chrono>
#include <functional>

#include "absl/time/time.h"
#include "proto/addr.h"

namespace dprelay::client {

struct PathMonitorConfig {
  // Disco Ping to the peer through the relay this often. Pings are data to the relay, so
  // they also keep this leg inside SteadyStateLifetime (5 min) when WireGuard is idle, and
  // the peer's Pongs keep the other leg alive; the reference client pings every 3 s.
  absl::Duration ping_interval = absl::Seconds(2);
  // No Pong for this long since the last one (or since the bind) means the path through the
  // relay is gone: a NAT or the relay lost this leg, or the endpoint expired.
  absl::Duration dead_after = absl::Seconds(8);
  // How often the relay-facing local address is looked at (a route lookup, a syscall).
  absl::Duration local_check_interval = absl::Seconds(1);
};

// Why a leg rebinds. One list for the enum and the names printed on "rebound" lines.
#define DPRELAY_REBIND_REASONS(X)   \
  X(kLocalChanged, "local_changed") \
  X(kPathDead, "path_dead")         \
  X(kBindTimeout, "bind_timeout")   \
  X(kEndpointChanged, "endpoint_changed")

enum class RebindReason : uint8_t {
#define DPRELAY_X(name, text) name,
  DPRELAY_REBIND_REASONS(DPRELAY_X)
#undef DPRELAY_X
      kCount
};
const char* RebindReasonName(RebindReason reason);

class PathMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Action { kNone, kPing, kRebind };
  struct Decision {
    Action action = Action::kNone;
    RebindReason reason = RebindReason::kPathDead;  // for kRebind
  };

  explicit PathMonitor(PathMonitorConfig config) : config_(config) {}

  // The handshake completed with the relay-facing address `local`: pinging starts now and
  // the path has dead_after to answer.
  void OnBound(Clock::time_point now, const AddrPort& local);
  // A Pong from the peer: the path works both ways.
  void OnPong(Clock::time_point now);
  // A handshake started elsewhere (e.g. a new endpoint): stop deciding until OnBound.
  void OnUnbound() { bound_ = false; }

  // What to do at `now`. `observe_local` returns the current relay-facing address; it is
  // called at most every local_check_interval. A kRebind stops further decisions until the
  // next OnBound, so that one episode gives one rebind; a kPing schedules the next one.
  Decision Next(Clock::time_point now, const std::function<AddrPort()>& observe_local);

  // When Next() may next have something to do (time_point::max() while unbound).
  Clock::time_point NextWake() const;

  bool bound() const { return bound_; }
  // Whether a Pong arrived since the last OnBound.
  bool answered() const { return answered_; }

 private:
  const PathMonitorConfig config_;
  bool bound_ = false;
  bool answered_ = false;
  AddrPort local_;
  Clock::time_point last_alive_;
  Clock::time_point next_ping_;
  Clock::time_point next_local_check_;
};

}  // namespace dprelay::client
