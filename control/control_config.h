// dprelay-control's configuration: the raw flag values main() collects, and their validation
// into the immutable ControlConfig the rest of the process takes (STYLE.md item 10).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/admin_access.h"
#include "proto/addr.h"
#include "proto/flag_errors.h"

namespace dprelay::control {

// Flag values as typed; only main() fills this in.
struct ControlFlags {
  std::string state_dir;
  std::string listen;
  std::string policy;
  std::string dataplane_socket;
  std::string bind_lifetime;
  std::string steady_state_lifetime;
  bool print_public_key = false;
  bool print_server_key = false;
  std::string admin_socket;
  std::string admin_group;
  std::string static_endpoints;
  bool static_only = false;
  std::string metrics_listen;
  std::string health_listen;
};

struct ControlConfig {
  std::string state_dir;
  AddrPort listen;          // the allocation socket
  std::string policy_path;  // allow-list file; empty only when printing keys
  std::string dataplane_socket;
  absl::Duration bind_lifetime;
  absl::Duration steady_state_lifetime;
  bool print_public_key = false;
  bool print_server_key = false;
  std::string admin_socket;  // empty: no admin API (tests)
  // Operators who may run read-only admin commands (control/admin_access.h); unset: the
  // socket is 0600, for control's own user only.
  std::optional<AdminGroup> admin_group;
  std::vector<AddrPort> static_endpoints;  // --static_endpoints
  bool static_only = false;                // never advertise the dataplane's own addresses
  std::optional<AddrPort> metrics_listen;  // Prometheus exporter; unset = off
  std::optional<AddrPort> health_listen;   // HTTP health endpoint (GET /healthz); unset = off

  bool print_only() const { return print_public_key || print_server_key; }
};

// Lifetimes are sent to clients as int64 nanoseconds; anything past a day is a typo, not a
// policy (the reference uses 30 s and 5 min).
inline constexpr absl::Duration kMaxLifetime = absl::Hours(24);

// Errors name the flag ("--listen: ..."), one line each. With `all`, every problem is also
// appended there (for --check, which reports each with its flagfile line).
absl::StatusOr<ControlConfig> ValidateControlFlags(const ControlFlags& flags,
                                                   FlagErrors* all = nullptr);

}  // namespace dprelay::control
