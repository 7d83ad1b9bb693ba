#include "dataplane/reply_limiter.h"

namespace dprelay {

ReplyLimiter::ReplyLimiter(const ReplyLimit& limit)
    : limit_(limit),
      per_dest_(limit.dest_rate, limit.dest_burst, limit.buckets_log2),
      global_rate_{.per_second = limit.global_rate, .burst = limit.global_burst} {}

std::optional<DropReason> ReplyLimiter::Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns) {
  if (!per_dest_.Allow(dst, salt, now_ns)) {
    return limit_.dest_reason;
  }
  if (!global_.Take(global_rate_, static_cast<uint32_t>(now_ns / 1'000'000))) {
    return limit_.global_reason;
  }
  return std::nullopt;
}

}  // namespace dprelay
