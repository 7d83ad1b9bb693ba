#include "control/reply_limiter.h"

#include "proto/source_block.h"

namespace dprelay::control {

ReplyLimiter::ReplyLimiter(const ReplyLimits& limits)
    : limits_(limits), per_destination_(limits.destination_slots_log2) {}

std::optional<Refusal> ReplyLimiter::Take(const IpAddr& dest, absl::Time now) {
  // The buckets keep wrapping milliseconds; only differences matter.
  const auto now_ms = static_cast<uint32_t>(absl::ToUnixMillis(now));
  TokenBucket& bucket = per_destination_.BucketOf(SourceBlock(dest));
  if (!bucket.Ready(limits_.per_destination, now_ms)) {
    return Refusal::kReplyRateDest;
  }
  // Checked second so that one busy destination does not use up the global budget with
  // replies it is refused anyway.
  if (!global_.Ready(limits_.global, now_ms)) {
    return Refusal::kReplyRateGlobal;
  }
  bucket.Spend();
  global_.Spend();
  return std::nullopt;
}

}  // namespace dprelay::control
