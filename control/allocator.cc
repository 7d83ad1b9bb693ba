#include "control/allocator.h"

#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "proto/disco.h"

namespace dprelay::control {

Allocator::Allocator(const AllocatorConfig& config, const Policy* policy, Registry* registry)
    : config_(config),
      params_{.server_key = config.server_disco_key.pub,
              .bind_lifetime = config.bind_lifetime,
              .steady_state_lifetime = config.steady_state_lifetime},
      policy_(policy),
      registry_(registry) {}

AllocatorResult Allocator::Handle(std::span<const uint8_t> datagram, const AddrPort& source,
                                  absl::Time now, std::span<const AddrPort> relay_addrs) {
  AllocatorResult result;
  result.source = source;
  const IpAddr canonical_source = CanonicalIp(source.ip);
  auto refuse = [&result](Refusal why) {
    result.refusal = why;
    return std::move(result);
  };

  if (!LooksLikeDiscoWrapper(datagram)) {
    return refuse(Refusal::kNotDisco);
  }
  const DiscoKey sender = DiscoWrapperSender(datagram);
  result.sender = sender;

  // Authenticate: the box must be sealed to the control key by the key in the sender field.
  SharedKey shared;
  bool cached = false;
  if (auto it = shared_cache_.find(sender.bytes); it != shared_cache_.end()) {
    shared = it->second;
    cached = true;
  } else {
    if (!ValidatePeerKey(sender).ok()) {
      return refuse(Refusal::kBadSenderKey);
    }
    absl::StatusOr<SharedKey> computed = ComputeSharedKey(sender, config_.control_key.priv);
    if (!computed.ok()) {
      return refuse(Refusal::kBadSenderKey);
    }
    shared = *computed;
  }
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(shared, datagram);
  if (!clear.ok()) {
    return refuse(Refusal::kOpenFailed);
  }
  if (!cached) {
    if (shared_cache_.size() >= config_.shared_key_cache_size) {
      shared_cache_.clear();
    }
    shared_cache_.emplace(sender.bytes, shared);
  }

  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  if (!msg.ok()) {
    return refuse(Refusal::kParseFailed);
  }
  const auto* request = std::get_if<AllocateUdpRelayEndpointRequest>(&*msg);
  if (request == nullptr) {
    return refuse(Refusal::kNotRequest);
  }

  // Key hygiene (PROTOCOL.md §9 item 8). A request with version != 0 parses as all-zero keys
  // and stops here.
  const DiscoKey& a = request->client_disco[0];
  const DiscoKey& b = request->client_disco[1];
  if (!ValidatePeerKey(a).ok() || !ValidatePeerKey(b).ok()) {
    return refuse(Refusal::kBadClientKey);
  }
  if (a == b) {
    return refuse(Refusal::kSameKeys);
  }
  for (const DiscoKey& k : {a, b}) {
    if (k == config_.server_disco_key.pub || k == config_.control_key.pub) {
      return refuse(Refusal::kKeyIsServerKey);
    }
  }
  if (sender != a && sender != b) {
    return refuse(Refusal::kSenderNotInPair);
  }
  if (!IsUsableSource(canonical_source)) {
    return refuse(Refusal::kBadSource);
  }
  if (!policy_->Allows(a) || !policy_->Allows(b)) {
    return refuse(Refusal::kNotAllowed);
  }
  if (!policy_->PeersPermit(a, b) || !policy_->PeersPermit(b, a)) {
    return refuse(Refusal::kPeerNotAllowed);
  }

  // Quotas (control/policy.h). Rates count every authenticated request, repeated or new.
  const Quota sender_quota = policy_->KeyQuota(sender);
  const SourceRule* source_rule = policy_->MatchSource(canonical_source);
  if (sender_quota.rate_per_second &&
      !key_rate_.Take(sender.bytes, *sender_quota.rate_per_second, now)) {
    return refuse(Refusal::kKeyRate);
  }
  if (source_rule != nullptr && source_rule->quota.rate_per_second &&
      !source_rate_.Take(KeyOf(canonical_source), *source_rule->quota.rate_per_second, now)) {
    return refuse(Refusal::kSourceRate);
  }
  const KeyPair sorted = SortedPair(a, b);
  const bool is_new = registry_->FindByPair(sorted) == nullptr;
  if (is_new) {
    // Session quotas and capacity only stop new endpoints: an existing one is always returned.
    for (const DiscoKey& k : sorted) {
      const Quota q = policy_->KeyQuota(k);
      if (q.max_sessions && registry_->SessionsOfKey(k) >= *q.max_sessions) {
        return refuse(Refusal::kKeySessions);
      }
    }
    if (source_rule != nullptr && source_rule->quota.max_sessions &&
        registry_->SessionsFromSource(canonical_source) >= *source_rule->quota.max_sessions) {
      return refuse(Refusal::kSourceSessions);
    }
    if (policy_->capacity() != 0 && registry_->size() >= policy_->capacity()) {
      return refuse(Refusal::kCapacity);
    }
  }
  // PROTOCOL.md §9 item 7: no response while no AddrPorts are known; the client retries.
  if (relay_addrs.empty()) {
    return refuse(Refusal::kNoAddrPorts);
  }

  std::array<SharedKey, 2> session_shared{};
  if (is_new) {
    // Only a new endpoint needs the per-leg keys (two X25519).
    for (size_t i = 0; i < 2; ++i) {
      absl::StatusOr<SharedKey> leg = ComputeSharedKey(sorted[i], config_.server_disco_key.priv);
      if (!leg.ok()) {
        return refuse(Refusal::kInternal);
      }
      session_shared[i] = *leg;
    }
  }
  absl::StatusOr<Allocation> allocation =
      registry_->Allocate(sorted, session_shared, now, canonical_source);
  if (!allocation.ok()) {
    return refuse(absl::IsResourceExhausted(allocation.status()) ? Refusal::kVniExhausted
                                                                 : Refusal::kInternal);
  }

  AllocateUdpRelayEndpointResponse response{
      .generation = request->generation,
      .endpoint =
          UdpRelayEndpoint{
              .server_disco = config_.server_disco_key.pub,
              .client_disco = sorted,
              .lamport_id = allocation->endpoint.lamport_id,
              .vni = allocation->endpoint.vni,
              .bind_lifetime = config_.bind_lifetime,
              .steady_state_lifetime = config_.steady_state_lifetime,
              .addr_ports = std::vector<AddrPort>(relay_addrs.begin(), relay_addrs.end()),
          },
  };
  std::vector<uint8_t> inner = EncodeDisco(response);
  result.reply = SealDisco(shared, config_.control_key.pub, inner);
  if (allocation->created) {
    result.install = MakeInstallSession(allocation->endpoint, params_);
  }
  result.allocation = *allocation;
  return result;
}

}  // namespace dprelay::control
