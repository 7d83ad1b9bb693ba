// The allocation protocol (PROTOCOL.md §0, §3, §9 items 7-8): one datagram from the allocation
// socket in, at most one sealed AllocateUDPRelayEndpointResponse out. No I/O here: the caller
// owns the socket, the dataplane link and the logging, so tests run it with no network.
//
// The gates, cheapest first (control/refusal.h lists every refusal in this order):
//   1. AdmitSender: the wrapper's sender key must be in the policy. Anything else is refused
//      with no crypto at all, so junk from unknown keys costs a hash lookup.
//   2. Authenticate: not a replay (control/replay_cache.h), then one box open with the
//      sender's shared key (cached for allowed keys: X25519 once per key), then the message.
//   3. CheckKeys, CheckPolicy, CheckQuotas: what the request asks for.
//   4. The reply budget (control/reply_limiter.h): replies go to a source that may be spoofed.
//   5. Answer: the registry's endpoint, sealed to the sender.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "control/policy.h"
#include "control/rate_limiter.h"
#include "control/refusal.h"
#include "control/registry.h"
#include "control/replay_cache.h"
#include "control/reply_limiter.h"
#include "control/session_params.h"
#include "control/shared_key_cache.h"
#include "control/source_addr.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay::control {

struct AllocatorConfig {
  // The private keys stay where their owner keeps them (KeyStore's locked, guarded memory):
  // the allocator refers to them, it does not copy them. Both outlive the Allocator.
  const DiscoKeyPair* control_key = nullptr;       // requests are sealed to its public half
  const DiscoKeyPair* server_disco_key = nullptr;  // ServerDisco; session keys derive from it
  absl::Duration bind_lifetime = absl::Seconds(30);
  absl::Duration steady_state_lifetime = absl::Minutes(5);
  ReplayCacheConfig replay;
  ReplyLimits reply_limits;
};

// Work done, for tests and benchmarks to prove what a request cost.
struct AllocatorStats {
  uint64_t key_agreements = 0;  // X25519 for a sender's shared key (cache misses)
  uint64_t box_opens = 0;       // requests whose box was opened (successfully or not)
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
// it; the policy object may be replaced (reloaded) between calls. Rate buckets, reply budgets
// and the replay cache survive reloads; the shared keys of keys a reload removed do not.
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

  // Drops (zeroing) the cached shared keys of keys the policy no longer allows. The owner calls
  // it after replacing the policy; Handle also notices a new policy generation by itself.
  void PolicyChanged();

  const SessionParams& session_params() const { return params_; }
  size_t shared_key_cache_entries() const { return shared_keys_.size(); }
  size_t replay_cache_entries() const { return replay_.size(); }
  const AllocatorStats& stats() const { return stats_; }

 private:
  // One request as it passes the gates; each gate fills in what the later ones need.
  struct Request {
    IpAddr source;                      // canonical
    std::optional<DiscoKey> sender;     // once the wrapper parsed
    const SharedKey* shared = nullptr;  // into shared_keys_; valid until Handle returns
    AllocateUdpRelayEndpointRequest message;
    KeyPair sorted;
    bool is_new = false;  // no endpoint for the pair yet
  };

  std::optional<Refusal> AdmitSender(std::span<const uint8_t> datagram, Request& req) const;
  std::optional<Refusal> Authenticate(std::span<const uint8_t> datagram, absl::Time now,
                                      Request& req);
  std::optional<Refusal> CheckKeys(const Request& req) const;
  std::optional<Refusal> CheckPolicy(const Request& req) const;
  std::optional<Refusal> CheckQuotas(absl::Time now, Request& req);
  std::optional<Refusal> Answer(const Request& req, absl::Time now,
                                std::span<const AddrPort> relay_addrs, AllocatorResult& result);
  // The sender's shared key, computed and cached on first use; nullptr if that failed.
  const SharedKey* SharedKeyOf(const DiscoKey& sender);
  bool UsableClientKey(const DiscoKey& key) const;

  // Immutable after construction.
  const AllocatorConfig config_;
  const SessionParams params_;
  const Policy* const policy_;
  Registry* const registry_;

  uint64_t policy_generation_;  // of the policy shared_keys_ was last pruned for
  SharedKeyCache shared_keys_;
  ReplayCache replay_;
  ReplyLimiter reply_limiter_;
  RateLimiter<std::array<uint8_t, kKeyLen>> key_rate_;
  RateLimiter<IpKey> source_rate_;  // keyed by SourceBlock (IPv4 address, IPv6 /64)
  AllocatorStats stats_;
};

}  // namespace dprelay::control
