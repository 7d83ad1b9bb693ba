// What dprelayctl prints: the admin API's response bodies, as human text or as JSON for
// scripts. Pure functions of plain structs, so tests check them without sockets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/refusal.h"
#include "control/refusal_log.h"
#include "control/registry.h"
#include "proto/addr.h"
#include "proto/ipc.h"

namespace dprelay::control {

struct StatusInfo {
  std::string control_key;  // discokey:<hex>
  std::string server_key;
  AddrPort listen;
  std::string dataplane_state;  // "ready", "syncing", "connecting", "disconnected"
  std::vector<AddrPort> dataplane_addrs;
  uint32_t capacity = 0;
  std::vector<AddrPort> advertised;  // what an allocation gets now
  std::vector<AddrPort> static_endpoints;
  std::string static_source;  // "runtime", "flag", "policy" or "none"
  bool static_only = false;
  std::string policy_path;
  size_t policy_keys = 0;
  size_t policy_source_rules = 0;
  uint32_t policy_capacity = 0;
  size_t sessions = 0;
  size_t sessions_open = 0;  // both legs bound
  uint64_t requests = 0;
  uint64_t allocated = 0;
  uint64_t reallocated = 0;
  uint64_t refused = 0;
  uint64_t last_lamport_id = 0;
};

std::string RenderStatus(const StatusInfo& s, bool json);
// Sessions in VNI order, like `tailscale debug peer-relay-sessions` (PROTOCOL.md §7).
std::string RenderSessions(const std::vector<ipc::SessionRecord>& sessions, bool json);
// `dprelayctl ping VNI`: per leg, the relay's round trip to the client timed at its last
// handshake (Challenge sent -> Answer received) and how long ago the leg was last heard.
std::string RenderPing(const ipc::SessionRecord& session, bool json);
std::string RenderRefusals(const std::array<uint64_t, kRefusalCount>& counts,
                           const std::vector<RefusalRecord>& recent, bool json);
std::string RenderStaticEndpoints(const std::vector<AddrPort>& endpoints, const std::string& source,
                                  bool json);
// `dprelayctl sessions --format=tailscale`: the JSON of tailscaled's peer relay server status
// (tailscale.com/net/udprelay/status.ServerStatus, as its LocalAPI serves it), so scripts
// written for it read ours unchanged. udp_port: the relay's UDP port, null when unknown.
std::string RenderSessionsTailscale(const std::vector<ipc::SessionRecord>& sessions,
                                    std::optional<uint16_t> udp_port);
// `dprelayctl evict`: the sessions ended.
std::string RenderEvicted(const std::vector<Endpoint>& evicted, bool json);
// `dprelayctl reload`: the policy file now in force, and the live sessions whose keys it no
// longer allows (`evicted`: ended by --evict-removed; otherwise only reported).
std::string RenderReload(const std::string& path, size_t keys, size_t source_rules,
                         const std::vector<Endpoint>& disallowed, bool evicted, bool json);

// `dprelayctl version`: the program's version line (proto/version.h), or as JSON
// {"program", "version", "dpdk_version"}.
std::string RenderVersion(const char* program, bool json);

}  // namespace dprelay::control
