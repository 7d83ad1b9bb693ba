#include "control/control_config.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/dataplane_link.h"
#include "control/policy.h"

namespace dprelay::control {
namespace {

absl::StatusOr<absl::Duration> ParseLifetime(const char* flag, const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": \"", text, "\" is not a duration (examples: 30s, 5m, 1m30s)"));
  }
  if (d <= absl::ZeroDuration() || d > kMaxLifetime) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", text, " is out of range (0, ",
                                                   absl::FormatDuration(kMaxLifetime), "]"));
  }
  return d;
}

}  // namespace

absl::StatusOr<ControlConfig> ValidateControlFlags(const ControlFlags& flags) {
  ControlConfig config;
  config.print_public_key = flags.print_public_key;
  config.print_server_key = flags.print_server_key;
  if (flags.state_dir.empty()) {
    return absl::InvalidArgumentError("--state_dir: must not be empty");
  }
  config.state_dir = flags.state_dir;
  if (config.print_only()) {
    return config;  // printing a key needs nothing else
  }

  absl::StatusOr<AddrPort> listen = ParseAddrPort(flags.listen);
  if (!listen.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: \"", flags.listen,
                     "\" is not ip:port or [ipv6]:port: ", listen.status().message()));
  }
  config.listen = *listen;

  if (flags.policy.empty()) {
    return absl::InvalidArgumentError(
        "--policy: required (a file of allowed client keys, one discokey:<hex> per line)");
  }
  config.policy_path = flags.policy;

  if (absl::Status s = ValidateSocketPath(flags.dataplane_socket); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--dataplane_socket: ", s.message()));
  }
  config.dataplane_socket = flags.dataplane_socket;

  absl::StatusOr<absl::Duration> bind = ParseLifetime("bind_lifetime", flags.bind_lifetime);
  if (!bind.ok()) {
    return bind.status();
  }
  config.bind_lifetime = *bind;
  absl::StatusOr<absl::Duration> steady =
      ParseLifetime("steady_state_lifetime", flags.steady_state_lifetime);
  if (!steady.ok()) {
    return steady.status();
  }
  config.steady_state_lifetime = *steady;

  if (!flags.admin_socket.empty()) {
    if (absl::Status s = ValidateSocketPath(flags.admin_socket); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--admin_socket: ", s.message()));
    }
  }
  config.admin_socket = flags.admin_socket;
  if (!flags.admin_group.empty()) {
    if (flags.admin_socket.empty()) {
      return absl::InvalidArgumentError("--admin_group needs --admin_socket");
    }
    absl::StatusOr<AdminGroup> group = LookupAdminGroup(flags.admin_group);
    if (!group.ok()) {
      return group.status();
    }
    config.admin_group = *group;
  }
  if (!flags.static_endpoints.empty()) {
    absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(flags.static_endpoints);
    if (!eps.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--static_endpoints: ", eps.status().message()));
    }
    config.static_endpoints = *eps;
  }
  config.static_only = flags.static_only;
  if (!flags.metrics_listen.empty()) {
    absl::StatusOr<AddrPort> metrics = ParseAddrPort(flags.metrics_listen);
    if (!metrics.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--metrics_listen: \"", flags.metrics_listen,
                       "\" is not ip:port or [ipv6]:port: ", metrics.status().message()));
    }
    config.metrics_listen = *metrics;
  }
  if (!flags.health_listen.empty()) {
    absl::StatusOr<AddrPort> health = ParseAddrPort(flags.health_listen);
    if (!health.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--health_listen: \"", flags.health_listen,
                       "\" is not ip:port or [ipv6]:port: ", health.status().message()));
    }
    config.health_listen = *health;
  }
  return config;
}

}  // namespace dprelay::control
