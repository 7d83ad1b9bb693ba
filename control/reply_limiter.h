// Bounds on allocation replies. A reply goes to the source of the request's datagram, which an
// attacker holding one captured (or one allowed) request can spoof, and a reply is 1.5-1.9x
// the request: so however the requests got through the other gates, replies to one
// destination and replies in all are each capped per second. Each cap has its own refusal
// reason (reply_rate_dest, reply_rate_global) so an operator sees which one bites.
//
// Defaults (see ReplyLimits) are far above what clients need: a client sends one request per
// relay path it sets up (and retries after 3 s); behind one NAT'd IPv4 address, or in one IPv6
// /64, hundreds of clients starting at once still fit in the burst and the refill. The global
// cap keeps reflected traffic under ~20 Mbit/s (10,000 replies of at most ~270 bytes).
//
// Memory is fixed (a hashed table of buckets, proto/token_bucket.h). Not thread-safe: the
// control loop's thread only.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "control/refusal.h"
#include "proto/addr.h"
#include "proto/token_bucket.h"

namespace dprelay::control {

struct ReplyLimits {
  // Per destination: an IPv4 address or an IPv6 /64 (proto/source_block.h), as the
  // dataplane keys its Challenge limit (per destination and VNI).
  TokenRate per_destination = {.per_second = 50, .burst = 100};
  TokenRate global = {.per_second = 10000, .burst = 10000};
  // 2^16 buckets of 12 bytes: 768 KiB; destinations sharing a bucket share its budget.
  uint32_t destination_slots_log2 = 16;
};

class ReplyLimiter {
 public:
  explicit ReplyLimiter(const ReplyLimits& limits = {});

  // Takes one reply from both budgets, or neither: nullopt if a reply to dest may go now,
  // else the limit that stops it.
  std::optional<Refusal> Take(const IpAddr& dest, absl::Time now);

 private:
  const ReplyLimits limits_;
  TokenBucketTable<IpAddr> per_destination_;
  TokenBucket global_;
};

}  // namespace dprelay::control
