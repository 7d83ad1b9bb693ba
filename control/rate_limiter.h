// Token buckets keyed by a client key or a source address, for the policy's rate= quotas.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace dprelay::control {

// Not thread-safe: the control loop's thread only.
template <typename Key>
class RateLimiter {
 public:
  // Buckets kept at most; when full, every bucket is dropped (all start full again), so a flood
  // of distinct keys costs memory only up to this bound. Only authenticated requests reach it.
  explicit RateLimiter(size_t max_buckets = 65536) : max_buckets_(max_buckets) {}

  // Takes one token from key's bucket (rate tokens/s, burst max(1, ceil(rate))); false if empty.
  bool Take(const Key& key, double rate, absl::Time now) {
    const double burst = std::max(1.0, std::ceil(rate));
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_buckets_) {
        buckets_.clear();
      }
      it = buckets_.emplace(key, Bucket{.tokens = burst, .at = now}).first;
    }
    Bucket& b = it->second;
    const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.at));
    b.tokens = std::min(burst, b.tokens + elapsed * rate);
    b.at = now;
    if (b.tokens < 1.0) {
      return false;
    }
    b.tokens -= 1.0;
    return true;
  }

  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    absl::Time at;
  };
  const size_t max_buckets_;
  absl::flat_hash_map<Key, Bucket> buckets_;
};

}  // namespace dprelay::control
