// Static endpoints (DESIGN.md §4 "Endpoints advertised"): the addresses clients are told
// before (or, with --static_only, instead of) the dataplane's own, e.g. an AWS NLB listener.
//
// Where the list comes from, first match wins:
//   1. <state_dir>/static_endpoints, written by `dprelayctl set static-endpoints` (replace
//      semantics, atomic write, survives restarts; "none" stores an empty list);
//      `dprelayctl set static-endpoints default` deletes it;
//   2. --static_endpoints;
//   3. static_endpoint lines of the policy file (re-read on reload).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/addr.h"

namespace dprelay::control {

inline constexpr char kStaticEndpointsFile[] = "static_endpoints";

// The runtime list persisted in state_dir, or nullopt if none was set. Errors name the file.
absl::StatusOr<std::optional<std::vector<AddrPort>>> LoadRuntimeStaticEndpoints(
    const std::string& state_dir);
// Writes the list atomically (mode 0600); nullopt deletes the file.
absl::Status StoreRuntimeStaticEndpoints(const std::string& state_dir,
                                         const std::optional<std::vector<AddrPort>>& endpoints);

std::string FormatEndpointList(const std::vector<AddrPort>& endpoints);

}  // namespace dprelay::control
