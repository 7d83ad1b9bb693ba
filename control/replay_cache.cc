#include "control/replay_cache.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace dprelay::control {

ReplayCache::ReplayCache(const ReplayCacheConfig& config)
    : window_(config.window), ring_(std::max<size_t>(1, config.capacity)) {
  if (sodium_init() < 0) {
    // No randomness source: an init-time abort, as everywhere sodium is first used (no key
    // can be made safely without one, and this runs while control starts).
    std::abort();
  }
  crypto_shorthash_keygen(hash_key_.data());
  fingerprints_.reserve(ring_.size());
}

uint64_t ReplayCache::Fingerprint(const DiscoKey& sender, const DiscoNonce& nonce) const {
  std::array<uint8_t, kKeyLen + kDiscoNonceLen> in;
  std::memcpy(in.data(), sender.bytes.data(), kKeyLen);
  std::memcpy(in.data() + kKeyLen, nonce.data(), kDiscoNonceLen);
  uint64_t out = 0;
  static_assert(crypto_shorthash_BYTES == sizeof(out));
  crypto_shorthash(reinterpret_cast<uint8_t*>(&out), in.data(), in.size(), hash_key_.data());
  return out;
}

void ReplayCache::PopOldest() {
  fingerprints_.erase(ring_[head_].fingerprint);
  head_ = (head_ + 1) % ring_.size();
  --count_;
}

void ReplayCache::Expire(absl::Time now) {
  // Entries are in arrival order, so the expired ones are a prefix. A clock stepping back
  // only keeps entries longer.
  while (count_ > 0 && now - ring_[head_].at >= window_) {
    PopOldest();
  }
}

bool ReplayCache::Seen(const DiscoKey& sender, const DiscoNonce& nonce, absl::Time now) {
  Expire(now);
  return fingerprints_.contains(Fingerprint(sender, nonce));
}

void ReplayCache::Remember(const DiscoKey& sender, const DiscoNonce& nonce, absl::Time now) {
  Expire(now);
  const uint64_t fp = Fingerprint(sender, nonce);
  if (fingerprints_.contains(fp)) {
    return;  // the caller asked Seen first; nothing to add
  }
  if (count_ == ring_.size()) {
    PopOldest();
  }
  ring_[(head_ + count_) % ring_.size()] = Entry{.fingerprint = fp, .at = now};
  ++count_;
  fingerprints_.insert(fp);
}

}  // namespace dprelay::control
