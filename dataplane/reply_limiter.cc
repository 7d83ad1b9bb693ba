#include "dataplane/reply_limiter.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace dprelay {

bool TokenBucket::Take(uint64_t now_ns) {
  const uint64_t now_ms = now_ns / 1'000'000;
  const uint64_t cap = uint64_t{burst_} * 1000;
  if (!started_) {
    started_ = true;
    tokens_milli_ = cap;
  } else if (now_ms > updated_ms_) {
    // Refill in whole milliseconds; a bucket idle for longer than the burst takes is full.
    tokens_milli_ = std::min(cap, tokens_milli_ + (now_ms - updated_ms_) * rate_);
  }
  updated_ms_ = std::max(updated_ms_, now_ms);
  if (tokens_milli_ < 1000) {
    return false;
  }
  tokens_milli_ -= 1000;
  return true;
}

DestinationLimiter::DestinationLimiter(uint32_t rate, uint32_t burst, uint32_t buckets_log2)
    : rate_(rate),
      burst_(burst),
      buckets_(size_t{1} << buckets_log2),
      used_(size_t{1} << buckets_log2, 0) {}

IpAddr DestinationLimiter::DestinationKey(const IpAddr& dst) {
  IpAddr key = dst;
  if (key.is_v6()) {
    std::fill(key.bytes.begin() + 8, key.bytes.end(), 0);
  }
  return key;
}

bool DestinationLimiter::Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns) {
  const size_t i = absl::HashOf(DestinationKey(dst), salt) & (buckets_.size() - 1);
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

ReplyLimiter::ReplyLimiter(const ReplyLimit& limit)
    : limit_(limit),
      per_dest_(limit.dest_rate, limit.dest_burst, limit.buckets_log2),
      global_(limit.global_rate, limit.global_burst) {}

std::optional<DropReason> ReplyLimiter::Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns) {
  if (!per_dest_.Allow(dst, salt, now_ns)) {
    return limit_.dest_reason;
  }
  if (!global_.Take(now_ns)) {
    return limit_.global_reason;
  }
  return std::nullopt;
}

}  // namespace dprelay
