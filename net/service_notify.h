// What a Type=notify systemd unit is told (sd_notify(3), libsystemd): READY=1 once the process
// serves, STATUS= lines an operator sees in `systemctl status`, and WATCHDOG=1 keep-alives
// while it is healthy (WatchdogSec= in the unit; a missed keep-alive makes systemd restart
// it). Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
#pragma once

#include <chrono>
#include <string>

namespace dprelay::net {

class ServiceNotifier {
 public:
  // Reads $NOTIFY_SOCKET, and $WATCHDOG_USEC/$WATCHDOG_PID through sd_watchdog_enabled(3).
  ServiceNotifier();

  // READY=1 with a STATUS= line: call once the process is actually serving.
  void Ready(const std::string& status);
  // A STATUS= line, sent only when it differs from the last one.
  void Status(const std::string& status);
  // STOPPING=1 with a STATUS= line: the process is shutting down.
  void Stopping(const std::string& status);
  // WATCHDOG=1 when a keep-alive is due (half the unit's WatchdogSec since the last one).
  // Call it from the main loop only while the process is healthy; it is cheap when not due.
  void Watchdog();

  // The unit's WatchdogSec (zero when the watchdog is off).
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  void Send(const std::string& state);

  bool enabled_ = false;
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point next_ping_{};
  std::string last_status_;
};

}  // namespace dprelay::net
