// What every session shares: the server disco public key and the lifetimes clients are told,
// and the InstallSession message that hands an endpoint to the dataplane.
#pragma once

#include "absl/time/time.h"
#include "control/registry.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay::control {

struct SessionParams {
  DiscoKey server_key;  // server disco public key: ServerDisco, and the Challenge sender
  absl::Duration bind_lifetime = absl::Seconds(30);
  absl::Duration steady_state_lifetime = absl::Minutes(5);
};

// The install message for an endpoint, carrying its bound legs (invalid ones stay unbound).
ipc::InstallSession MakeInstallSession(const Endpoint& endpoint, const SessionParams& params);

}  // namespace dprelay::control
