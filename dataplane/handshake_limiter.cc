#include "dataplane/handshake_limiter.h"

#include <algorithm>

namespace dprelay {

IpAddr HandshakeLimiter::SourceKey(const IpAddr& src) {
  IpAddr key = src;
  if (key.is_v6()) {
    std::fill(key.bytes.begin() + 8, key.bytes.end(), 0);
  }
  return key;
}

bool HandshakeLimiter::Allow(const IpAddr& src, uint64_t now_ns) {
  IpAddr key = SourceKey(src);
  if (buckets_.size() >= max_buckets_ && !buckets_.contains(key)) {
    // Making room is a scan of the table: at most once a second, however many new sources.
    if (now_ns - forced_forget_ns_ >= 1'000'000'000 || forced_forget_ns_ == 0) {
      forced_forget_ns_ = now_ns;
      Forget(now_ns);
    }
    if (buckets_.size() >= max_buckets_) {
      key = IpAddr{};  // the overflow bucket: every source beyond the table shares it
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key);
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
