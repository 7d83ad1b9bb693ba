#include "dataplane/handshake_limiter.h"

#include <algorithm>

namespace dprelay {

bool HandshakeLimiter::Allow(const IpAddr& src, uint64_t now_ns) {
  auto [it, inserted] = buckets_.try_emplace(src);
  Bucket& b = it->second;
  const uint64_t cap = uint64_t{burst_} * 1000;
  if (inserted) {
    b.tokens_milli = cap;
  } else {
    // Refill in whole milliseconds and keep the remainder for the next call.
    const uint64_t elapsed_ms = (now_ns - b.updated_ns) / 1'000'000;
    b.tokens_milli = std::min(cap, b.tokens_milli + elapsed_ms * rate_);
    b.updated_ns += elapsed_ms * 1'000'000;
  }
  if (inserted) {
    b.updated_ns = now_ns;
  }
  if (b.tokens_milli < 1000) {
    return false;
  }
  b.tokens_milli -= 1000;
  return true;
}

void HandshakeLimiter::Forget(uint64_t now_ns) {
  absl::erase_if(buckets_,
                 [&](const auto& kv) { return now_ns - kv.second.updated_ns > kForgetNs; });
}

}  // namespace dprelay
