#include "control/allocator.h"

#include <sodium.h>

#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "proto/source_block.h"

namespace dprelay::control {

Allocator::Allocator(const AllocatorConfig& config, const Policy* policy, Registry* registry)
    : config_(config),
      params_{.server_key = config.server_disco_key->pub,
              .bind_lifetime = config.bind_lifetime,
              .steady_state_lifetime = config.steady_state_lifetime},
      policy_(policy),
      registry_(registry),
      policy_generation_(policy->generation()),
      replay_(config.replay),
      reply_limiter_(config.reply_limits) {}

void Allocator::PolicyChanged() {
  policy_generation_ = policy_->generation();
  shared_keys_.EraseIf([this](const DiscoKey& key) { return !policy_->Allows(key); });
}

AllocatorResult Allocator::Handle(std::span<const uint8_t> datagram, const AddrPort& source,
                                  absl::Time now, std::span<const AddrPort> relay_addrs) {
  if (policy_->generation() != policy_generation_) {
    PolicyChanged();
  }
  AllocatorResult result;
  result.source = source;
  Request req{.source = CanonicalIp(source.ip)};
  auto refuse = [&result, &req](Refusal why) {
    result.refusal = why;
    result.sender = req.sender;
    return std::move(result);
  };

  if (std::optional<Refusal> why = AdmitSender(datagram, req)) {
    return refuse(*why);
  }
  if (std::optional<Refusal> why = Authenticate(datagram, now, req)) {
    return refuse(*why);
  }
  if (std::optional<Refusal> why = CheckKeys(req)) {
    return refuse(*why);
  }
  if (std::optional<Refusal> why = CheckPolicy(req)) {
    return refuse(*why);
  }
  if (std::optional<Refusal> why = CheckQuotas(now, req)) {
    return refuse(*why);
  }
  // PROTOCOL.md §9 item 7: no response while no AddrPorts are known; the client retries.
  if (relay_addrs.empty()) {
    return refuse(Refusal::kNoAddrPorts);
  }
  // Last before anything changes: a reply refused here creates no endpoint.
  if (std::optional<Refusal> why = reply_limiter_.Take(req.source, now)) {
    return refuse(*why);
  }
  if (std::optional<Refusal> why = Answer(req, now, relay_addrs, result)) {
    return refuse(*why);
  }
  result.sender = req.sender;
  return result;
}

std::optional<Refusal> Allocator::AdmitSender(std::span<const uint8_t> datagram,
                                              Request& req) const {
  if (!LooksLikeDiscoWrapper(datagram)) {
    return Refusal::kNotDisco;
  }
  req.sender = DiscoWrapperSender(datagram);
  if (req.sender->is_zero()) {
    return Refusal::kBadSenderKey;
  }
  // The policy holds only keys it validated (not zero, not low order), so an allowed sender
  // needs no scalar multiplication to check it, and an unknown one is refused here: no X25519,
  // no box open, whatever the rest of the datagram holds.
  if (!policy_->Allows(*req.sender)) {
    return Refusal::kNotAllowed;
  }
  return std::nullopt;
}

std::optional<Refusal> Allocator::Authenticate(std::span<const uint8_t> datagram, absl::Time now,
                                               Request& req) {
  const DiscoNonce nonce = DiscoWrapperNonce(datagram);
  // Asked before the open, so a replay costs a hash rather than a box open. Only opened boxes
  // are remembered (below), so a forgery cannot make an honest request look replayed.
  if (replay_.Seen(*req.sender, nonce, now)) {
    return Refusal::kReplay;
  }
  req.shared = SharedKeyOf(*req.sender);
  if (req.shared == nullptr) {
    return Refusal::kInternal;
  }
  ++stats_.box_opens;
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(*req.shared, datagram);
  if (!clear.ok()) {
    return Refusal::kOpenFailed;
  }
  // Authenticated: whatever it asks for, this exact request gets no second hearing (nor does
  // a replay reach the rate quotas and spend the sender's tokens).
  replay_.Remember(*req.sender, nonce, now);

  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  if (!msg.ok()) {
    return Refusal::kParseFailed;
  }
  const auto* request = std::get_if<AllocateUdpRelayEndpointRequest>(&*msg);
  if (request == nullptr) {
    return Refusal::kNotRequest;
  }
  req.message = *request;
  return std::nullopt;
}

const SharedKey* Allocator::SharedKeyOf(const DiscoKey& sender) {
  if (const SharedKey* cached = shared_keys_.Find(sender); cached != nullptr) {
    return cached;
  }
  // First request from this allowed key (since start, or since a reload allowed it). Kept
  // whether or not this box opens, so that junk naming an allowed key costs one X25519 per key,
  // not one per datagram; the cache holds allowed keys only, so it stays within the policy.
  ++stats_.key_agreements;
  absl::StatusOr<SharedKey> computed = ComputeSharedKey(sender, config_.control_key->priv);
  if (!computed.ok()) {
    return nullptr;  // cannot happen for a key the policy validated
  }
  absl::StatusOr<const SharedKey*> stored = shared_keys_.Insert(sender, *computed);
  sodium_memzero(computed->bytes.data(), computed->bytes.size());
  return stored.ok() ? *stored : nullptr;
}

bool Allocator::UsableClientKey(const DiscoKey& key) const {
  // An allowed key was validated when the policy was parsed; only others need the scalar
  // multiplication that tells a low-order point (bad_client_key) from a stranger (not_allowed).
  return policy_->Allows(key) || ValidatePeerKey(key).ok();
}

std::optional<Refusal> Allocator::CheckKeys(const Request& req) const {
  // Key hygiene (PROTOCOL.md §9 item 8). A request with version != 0 parses as all-zero keys
  // and stops here.
  const DiscoKey& a = req.message.client_disco[0];
  const DiscoKey& b = req.message.client_disco[1];
  if (!UsableClientKey(a) || !UsableClientKey(b)) {
    return Refusal::kBadClientKey;
  }
  if (a == b) {
    return Refusal::kSameKeys;
  }
  for (const DiscoKey& k : {a, b}) {
    if (k == config_.server_disco_key->pub || k == config_.control_key->pub) {
      return Refusal::kKeyIsServerKey;
    }
  }
  if (*req.sender != a && *req.sender != b) {
    return Refusal::kSenderNotInPair;
  }
  if (!IsUsableSource(req.source)) {
    return Refusal::kBadSource;
  }
  return std::nullopt;
}

std::optional<Refusal> Allocator::CheckPolicy(const Request& req) const {
  const DiscoKey& a = req.message.client_disco[0];
  const DiscoKey& b = req.message.client_disco[1];
  if (!policy_->Allows(a) || !policy_->Allows(b)) {
    return Refusal::kNotAllowed;
  }
  if (!policy_->PeersPermit(a, b) || !policy_->PeersPermit(b, a)) {
    return Refusal::kPeerNotAllowed;
  }
  return std::nullopt;
}

std::optional<Refusal> Allocator::CheckQuotas(absl::Time now, Request& req) {
  // Quotas (control/policy.h). Rates count every authenticated request, repeated or new.
  const DiscoKey& sender = *req.sender;
  const Quota sender_quota = policy_->KeyQuota(sender);
  const SourceRule* source_rule = policy_->MatchSource(req.source);
  if (sender_quota.rate_per_second &&
      !key_rate_.Take(sender.bytes, *sender_quota.rate_per_second, now)) {
    return Refusal::kKeyRate;
  }
  if (source_rule != nullptr && source_rule->quota.rate_per_second &&
      !source_rate_.Take(KeyOf(SourceBlock(req.source)), *source_rule->quota.rate_per_second,
                         now)) {
    return Refusal::kSourceRate;
  }
  req.sorted = SortedPair(req.message.client_disco[0], req.message.client_disco[1]);
  req.is_new = registry_->FindByPair(req.sorted) == nullptr;
  if (!req.is_new) {
    return std::nullopt;  // session quotas and capacity only stop new endpoints
  }
  for (const DiscoKey& k : req.sorted) {
    const Quota q = policy_->KeyQuota(k);
    if (q.max_sessions && registry_->SessionsOfKey(k) >= *q.max_sessions) {
      return Refusal::kKeySessions;
    }
  }
  if (source_rule != nullptr && source_rule->quota.max_sessions &&
      registry_->SessionsFromSource(req.source) >= *source_rule->quota.max_sessions) {
    return Refusal::kSourceSessions;
  }
  if (policy_->capacity() != 0 && registry_->size() >= policy_->capacity()) {
    return Refusal::kCapacity;
  }
  return std::nullopt;
}

std::optional<Refusal> Allocator::Answer(const Request& req, absl::Time now,
                                         std::span<const AddrPort> relay_addrs,
                                         AllocatorResult& result) {
  std::array<SharedKey, 2> session_shared{};
  if (req.is_new) {
    // Only a new endpoint needs the per-leg keys (two X25519).
    for (size_t i = 0; i < 2; ++i) {
      absl::StatusOr<SharedKey> leg =
          ComputeSharedKey(req.sorted[i], config_.server_disco_key->priv);
      if (!leg.ok()) {
        return Refusal::kInternal;
      }
      session_shared[i] = *leg;
      sodium_memzero(leg->bytes.data(), leg->bytes.size());
    }
  }
  absl::StatusOr<Allocation> allocation =
      registry_->Allocate(req.sorted, session_shared, now, req.source);
  sodium_memzero(session_shared.data(), sizeof(session_shared));  // the registry has its copy
  if (!allocation.ok()) {
    return absl::IsResourceExhausted(allocation.status()) ? Refusal::kVniExhausted
                                                          : Refusal::kInternal;
  }

  AllocateUdpRelayEndpointResponse response{
      .generation = req.message.generation,
      .endpoint =
          UdpRelayEndpoint{
              .server_disco = config_.server_disco_key->pub,
              .client_disco = req.sorted,
              .lamport_id = allocation->endpoint.lamport_id,
              .vni = allocation->endpoint.vni,
              .bind_lifetime = config_.bind_lifetime,
              .steady_state_lifetime = config_.steady_state_lifetime,
              .addr_ports = std::vector<AddrPort>(relay_addrs.begin(), relay_addrs.end()),
          },
  };
  std::vector<uint8_t> inner = EncodeDisco(response);
  result.reply = SealDisco(*req.shared, config_.control_key->pub, inner);
  if (allocation->created) {
    result.install = MakeInstallSession(allocation->endpoint, params_);
  }
  result.allocation = *allocation;
  return std::nullopt;
}

}  // namespace dprelay::control
