#include "control/control_config.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/dataplane_link.h"
#include "control/policy.h"

namespace dprelay::control {
namespace {

// Records the problem with a listen address flag, or returns the address.
std::optional<AddrPort> ParseListen(const char* flag, const std::string& text, FlagErrors* errors) {
  absl::StatusOr<AddrPort> addr = ParseAddrPort(text);
  if (!addr.ok()) {
    errors->Add(flag, absl::StrCat("\"", text, "\" is not ip:port or [ipv6]:port: ",
                                   addr.status().message()));
    return std::nullopt;
  }
  return *addr;
}

absl::Duration ParseLifetime(const char* flag, const std::string& text, FlagErrors* errors) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    errors->Add(flag,
                absl::StrCat("\"", text, "\" is not a duration (examples: 30s, 5m, 1m30s)"));
  } else if (d <= absl::ZeroDuration() || d > kMaxLifetime) {
    errors->Add(flag, absl::StrCat(text, " is out of range (0, ",
                                   absl::FormatDuration(kMaxLifetime), "]"));
  }
  return d;
}

}  // namespace

absl::StatusOr<ControlConfig> ValidateControlFlags(const ControlFlags& flags, FlagErrors* all) {
  FlagErrors local;
  FlagErrors* errors = all != nullptr ? all : &local;
  ControlConfig config;
  config.print_public_key = flags.print_public_key;
  config.print_server_key = flags.print_server_key;
  if (flags.state_dir.empty()) {
    errors->Add("state_dir", "must not be empty");
  }
  config.state_dir = flags.state_dir;
  if (config.print_only()) {
    if (!errors->empty()) {
      return errors->ToStatus();
    }
    return config;  // printing a key needs nothing else
  }

  if (std::optional<AddrPort> listen = ParseListen("listen", flags.listen, errors)) {
    config.listen = *listen;
  }
  if (flags.policy.empty()) {
    errors->Add("policy", "required (a file of allowed client keys, one discokey:<hex> per line)");
  }
  config.policy_path = flags.policy;

  if (absl::Status s = ValidateSocketPath(flags.dataplane_socket); !s.ok()) {
    errors->Add("dataplane_socket", s.message());
  }
  config.dataplane_socket = flags.dataplane_socket;
  config.bind_lifetime = ParseLifetime("bind_lifetime", flags.bind_lifetime, errors);
  config.steady_state_lifetime =
      ParseLifetime("steady_state_lifetime", flags.steady_state_lifetime, errors);

  if (!flags.admin_socket.empty()) {
    if (absl::Status s = ValidateSocketPath(flags.admin_socket); !s.ok()) {
      errors->Add("admin_socket", s.message());
    }
  }
  config.admin_socket = flags.admin_socket;
  if (!flags.admin_group.empty()) {
    absl::StatusOr<AdminGroup> group = LookupAdminGroup(flags.admin_group);
    if (flags.admin_socket.empty()) {
      errors->Add("admin_group", "needs --admin_socket");
    } else if (!group.ok()) {
      errors->Add("admin_group", group.status().message());
    } else {
      config.admin_group = *group;
    }
  }
  if (!flags.static_endpoints.empty()) {
    absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(flags.static_endpoints);
    if (!eps.ok()) {
      errors->Add("static_endpoints", eps.status().message());
    } else {
      config.static_endpoints = *eps;
    }
  }
  config.static_only = flags.static_only;
  if (!flags.metrics_listen.empty()) {
    config.metrics_listen = ParseListen("metrics_listen", flags.metrics_listen, errors);
  }
  if (!flags.health_listen.empty()) {
    config.health_listen = ParseListen("health_listen", flags.health_listen, errors);
  }
  if (!errors->empty()) {
    return errors->ToStatus();
  }
  return config;
}

}  // namespace dprelay::control
