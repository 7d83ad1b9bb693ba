// Which authenticated allocation requests were already seen, so that a captured request sent
// again (by anyone, from any source) gets no second reply.
//
// A request is known by (sender key, nonce): the box authenticates every byte after the nonce,
// so a replayed request repeats both, and a client never reuses a nonce (every send is sealed
// afresh with a random one: client/allocate.cc, and Tailscale's disco sender). Only requests
// whose box opened are remembered (Remember after the open, Seen may be asked before it), so
// forged traffic cannot fill the cache or make an honest client's next request look replayed.
//
// Memory is fixed: at most `capacity` entries, first in first out, each forgotten after
// `window`. A request is therefore refused as a replay if its first copy arrived less than
// `window` ago and among the last `capacity` authenticated requests; an older replay gets one
// more reply per window, which the reply limits (reply_limiter.h) bound. Entries are 64-bit
// SipHash fingerprints under a key drawn at start-up: a false "replay" for an honest request
// needs a collision with one of at most `capacity` fingerprints (about 2^-47 at the default),
// and nobody outside can aim for one.
//
// Not thread-safe: the control loop's thread only.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::control {

struct ReplayCacheConfig {
  // 2^17 entries (about 3 MiB with the index) keep two minutes of history up to ~1,000
  // authenticated requests a second; above that the window shortens to capacity / rate.
  size_t capacity = size_t{1} << 17;
  // Longer than any client's retry schedule (a few seconds), short enough that the set stays
  // small in the common case.
  absl::Duration window = absl::Minutes(2);
};

class ReplayCache {
 public:
  explicit ReplayCache(const ReplayCacheConfig& config = {});

  // True if (sender, nonce) was remembered less than `window` before now.
  bool Seen(const DiscoKey& sender, const DiscoNonce& nonce, absl::Time now);
  // Remembers an authenticated request (evicting the oldest entry when full).
  void Remember(const DiscoKey& sender, const DiscoNonce& nonce, absl::Time now);

  size_t size() const { return fingerprints_.size(); }
  size_t capacity() const { return ring_.size(); }

 private:
  struct Entry {
    uint64_t fingerprint;
    absl::Time at;
  };

  uint64_t Fingerprint(const DiscoKey& sender, const DiscoNonce& nonce) const;
  void Expire(absl::Time now);
  void PopOldest();

  const absl::Duration window_;
  std::array<uint8_t, crypto_shorthash_KEYBYTES> hash_key_;
  std::vector<Entry> ring_;  // capacity slots; the live ones are [head_, head_ + count_)
  size_t head_ = 0;
  size_t count_ = 0;
  absl::flat_hash_set<uint64_t> fingerprints_;
};

}  // namespace dprelay::control
