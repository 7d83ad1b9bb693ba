// The allocation protocol (PROTOCOL.md §0, §3, §9 items 7-8): one datagram from the allocation
// socket in, at most one sealed AllocateUDPRelayEndpointResponse out. No I/O here: the caller
// owns the socket, the dataplane link and the logging, so tests run it with no network.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "control/policy.h"
#include "control/rate_limiter.h"
#include "control/refusal.h"
#include "control/registry.h"
#include "control/session_params.h"
#include "control/source_addr.h"
#include "proto/addr.h"
#include "proto/disco_box.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay::control {

struct AllocatorConfig {
  DiscoKeyPair control_key;       // requests are sealed to its public half
  DiscoKeyPair server_disco_key;  // ServerDisco; sessions' shared keys derive from it
  absl::Duration bind_lifetime = absl::Seconds(30);
  absl::Duration steady_state_lifetime = absl::Minutes(5);
  // Shared keys of senders whose requests opened, to skip X25519 on retries (clients resend
  // after 3 s). Only authenticated senders enter, so junk cannot flush it; when full it is
  // cleared, which costs one X25519 per sender afterwards.
  size_t shared_key_cache_size = 4096;
};

struct AllocatorResult {
  AddrPort source;                             // the request's source, for logging
  std::optional<Refusal> refusal;              // set iff no reply is to be sent
  std::vector<uint8_t> reply;                  // the sealed response datagram when accepted
  std::optional<DiscoKey> sender;              // once the wrapper parsed, even if later refused
  std::optional<Allocation> allocation;        // when accepted
  std::optional<ipc::InstallSession> install;  // a NEW endpoint to install in the dataplane
};

// Not thread-safe: used by the control loop's single thread. policy and registry must outlive
// it; the policy object may be replaced (reloaded) between calls. Rate buckets survive reloads.
class Allocator {
 public:
  Allocator(const AllocatorConfig& config, const Policy* policy, Registry* registry);

  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // source: the request's source as the socket reported it (canonicalised here).
  // relay_addrs: the AddrPorts to advertise (static ones first, then the dataplane's; empty
  // while there is nothing to advertise).
  AllocatorResult Handle(std::span<const uint8_t> datagram, const AddrPort& source, absl::Time now,
                         std::span<const AddrPort> relay_addrs);

  const SessionParams& session_params() const { return params_; }
  size_t shared_key_cache_entries() const { return shared_cache_.size(); }

 private:
  // Immutable after construction.
  const AllocatorConfig config_;
  const SessionParams params_;
  const Policy* const policy_;
  Registry* const registry_;

  absl::flat_hash_map<std::array<uint8_t, kKeyLen>, SharedKey> shared_cache_;
  RateLimiter<std::array<uint8_t, kKeyLen>> key_rate_;
  RateLimiter<IpKey> source_rate_;
};

}  // namespace dprelay::control
