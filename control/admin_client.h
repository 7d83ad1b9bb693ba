// The client end of the admin API (control/admin_protocol.h), used by dprelayctl and tests.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/admin_protocol.h"

namespace dprelay::control {

// One request, one response. Errors are one line for the operator: not running (no socket,
// refused), permission denied, timeout, or the server's own ERROR message.
absl::StatusOr<std::string> CallAdmin(const std::string& path, const AdminRequest& request,
                                      absl::Duration timeout);

}  // namespace dprelay::control
