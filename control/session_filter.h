// `dprelayctl sessions --key=PREFIX --client=IP[:PORT] --vni=N`: which of the dataplane's
// sessions to show. Every filter given must match; a session matches a key or client filter
// if either of its legs does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/admin_commands.h"
#include "proto/addr.h"
#include "proto/ipc.h"

namespace dprelay::control {

struct SessionFilter {
  std::string key_prefix;    // lowercase hex, without "discokey:"; empty = any key
  IpAddr client_ip;          // invalid = any client
  uint16_t client_port = 0;  // 0 = any port of client_ip
  uint32_t vni = 0;          // 0 = any VNI

  // Built from the call's --key, --client and --vni (already checked by ParseAdminArgs).
  static absl::StatusOr<SessionFilter> FromCall(const AdminCall& call);
  bool Matches(const ipc::SessionRecord& session) const;
  std::vector<ipc::SessionRecord> Apply(std::vector<ipc::SessionRecord> sessions) const;
};

}  // namespace dprelay::control
