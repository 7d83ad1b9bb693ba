#include "dataplane/handshake_limiter.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace dprelay {

HandshakeLimiter::HandshakeLimiter(uint32_t rate, uint32_t burst, uint32_t buckets_log2)
    : rate_(rate),
      burst_(burst),
      buckets_(size_t{1} << buckets_log2),
      used_(size_t{1} << buckets_log2, 0) {}

IpAddr HandshakeLimiter::SourceKey(const IpAddr& src) {
  IpAddr key = src;
  if (key.is_v6()) {
    std::fill(key.bytes.begin() + 8, key.bytes.end(), 0);
  }
  return key;
}

bool HandshakeLimiter::Allow(const IpAddr& src, uint64_t now_ns) {
  const size_t i = absl::Hash<IpAddr>{}(SourceKey(src)) & (buckets_.size() - 1);
  Bucket& b = buckets_[i];
  const uint32_t now_ms = static_cast<uint32_t>(now_ns / 1'000'000);
  const uint64_t cap = uint64_t{burst_} * 1000;
  if (used_[i] == 0) {
    used_[i] = 1;
    b.tokens_milli = static_cast<uint32_t>(cap);
  } else {
    // Refill in whole milliseconds; a bucket idle for longer than the burst takes is full.
    const uint64_t elapsed_ms = static_cast<uint32_t>(now_ms - b.updated_ms);
    b.tokens_milli = static_cast<uint32_t>(std::min(cap, b.tokens_milli + elapsed_ms * rate_));
  }
  b.updated_ms = now_ms;
  if (b.tokens_milli < 1000) {
    return false;
  }
  b.tokens_milli -= 1000;
  return true;
}

}  // namespace dprelay
