#include "control/session_params.h"

namespace dprelay::control {

ipc::InstallSession MakeInstallSession(const Endpoint& endpoint, const SessionParams& params) {
  return ipc::InstallSession{
      .vni = endpoint.vni,
      .client_keys = endpoint.client_keys,
      .shared = endpoint.shared,
      .server_key = params.server_key,
      .bind_lifetime_ns = absl::ToInt64Nanoseconds(params.bind_lifetime),
      .steady_state_lifetime_ns = absl::ToInt64Nanoseconds(params.steady_state_lifetime),
      .bound = endpoint.bound,
      .lamport_id = endpoint.lamport_id,
      .allocated_at_unix_ns = absl::ToUnixNanos(endpoint.allocated_at),
  };
}

}  // namespace dprelay::control
