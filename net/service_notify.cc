#include "net/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "proto/log.h"

namespace dprelay::net {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0) {
    watchdog_ = std::chrono::microseconds(usec);
  }
}

void ServiceNotifier::Send(const std::string& state) {
  if (!enabled_) {
    return;
  }
  // Not fatal: the process serves whether or not systemd hears it (it restarts a Type=notify
  // unit that never says READY=1, which the log line then explains).
  if (int rc = sd_notify(/*unset_environment=*/0, state.c_str()); rc < 0) {
    DPRELAY_LOG_WARNING("sd_notify(%s): %s", state.substr(0, state.find('\n')), std::strerror(-rc));
  }
}

void ServiceNotifier::Ready(const std::string& status) {
  last_status_ = status;
  Send("READY=1\nSTATUS=" + status);
  next_ping_ = std::chrono::steady_clock::time_point{};  // the first keep-alive goes at once
}

void ServiceNotifier::Status(const std::string& status) {
  if (status == last_status_) {
    return;
  }
  last_status_ = status;
  Send("STATUS=" + status);
}

void ServiceNotifier::Stopping(const std::string& status) {
  last_status_ = status;
  Send("STOPPING=1\nSTATUS=" + status);
}

void ServiceNotifier::Watchdog() {
  if (watchdog_.count() == 0) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < next_ping_) {
    return;
  }
  next_ping_ = now + watchdog_ / 2;
  Send("WATCHDOG=1");
}

}  // namespace dprelay::net
