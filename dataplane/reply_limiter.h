// Limits on what the relay sends in answer to packets it cannot authenticate (docs/SECURITY.md
// "What the relay sends"): Challenges, ICMP echo replies, ARP replies and Neighbour
// Advertisements. The source of such a packet may be spoofed, so the answer goes to whoever
// the sender wants to hit: each kind of answer is bounded per destination and in all.
//
// Nothing is charged for what arrives, only for what is sent: a third party spraying junk
// "from" a client's address spends no budget of that client's (junk never earns an answer),
// so it cannot lock the client out. A destination is an IPv4 address or an IPv6 /64 (any IPv6
// host controls a /64), optionally narrowed by a salt (the VNI, for Challenges: Binds for one
// session cannot use up the Challenges another session's client needs).
//
// The per-destination buckets are a fixed array indexed by a seeded hash, not a map: memory is
// constant whatever is sent, nothing is allocated, evicted or scanned per packet, and
// destinations that share a bucket share its budget. Main lcore only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/drop_reasons.h"
#include "proto/addr.h"

namespace dprelay {

// A token bucket on a millisecond clock: `rate` tokens a second, at most `burst` stored.
class TokenBucket {
 public:
  TokenBucket(uint32_t rate, uint32_t burst) : rate_(rate), burst_(burst) {}
  // Takes one token if there is one.
  bool Take(uint64_t now_ns);

 private:
  uint32_t rate_;
  uint32_t burst_;
  uint64_t tokens_milli_ = 0;  // thousandths of a token
  uint64_t updated_ms_ = 0;
  bool started_ = false;  // a new bucket starts full
};

// Per-destination buckets in a fixed hashed table.
class DestinationLimiter {
 public:
  DestinationLimiter(uint32_t rate, uint32_t burst, uint32_t buckets_log2);

  // True if an answer to `dst` (with `salt`) may go now, and takes a token.
  bool Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns);
  size_t buckets() const { return buckets_.size(); }

  // The bucket key of a destination: the address, or its /64 for IPv6 (exposed for tests).
  static IpAddr DestinationKey(const IpAddr& dst);

 private:
  struct Bucket {
    uint32_t tokens_milli = 0;  // thousandths of a token
    uint32_t updated_ms = 0;    // last refill, ms on the caller's clock (wraps: differences)
  };
  const uint32_t rate_;
  const uint32_t burst_;
  std::vector<Bucket> buckets_;
  std::vector<uint8_t> used_;  // 0: the bucket was never filled (starts full)
};

// One kind of answer: its per-destination and global limits and their drop reasons.
struct ReplyLimit {
  uint32_t dest_rate, dest_burst, buckets_log2;
  uint32_t global_rate, global_burst;
  DropReason dest_reason, global_reason;
};

class ReplyLimiter {
 public:
  // Challenges: a binding client sends a Bind per relay address every few seconds and
  // retransmits; 10 a second (bursts of 20) per destination and session (the VNI salt keeps
  // sessions apart) is far above need. In all, 500k a second: more than the main lcore's
  // handshake capacity, so it bounds reflection without limiting binds.
  static constexpr ReplyLimit kChallenges{10,
                                          20,
                                          18,
                                          500'000,
                                          50'000,
                                          DropReason::kChallengeLimitedDest,
                                          DropReason::kChallengeLimitedGlobal};
  // ICMP and ICMPv6 echo replies: enough for ping and monitoring, as Linux's 1000/s in all.
  static constexpr ReplyLimit kEcho{
      20, 50, 14, 1'000, 1'000, DropReason::kIcmpLimitedDest, DropReason::kIcmpLimitedGlobal};
  // ARP replies and Neighbour Advertisements: a neighbour asks every few seconds at most.
  static constexpr ReplyLimit kNeighbour{20,
                                         50,
                                         14,
                                         5'000,
                                         5'000,
                                         DropReason::kNeighbourLimitedDest,
                                         DropReason::kNeighbourLimitedGlobal};

  explicit ReplyLimiter(const ReplyLimit& limit);

  // nullopt if an answer to dst may go now (tokens taken), else the limit's drop reason.
  // The global budget is only spent on answers the destination's budget allowed.
  std::optional<DropReason> Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns);

 private:
  const ReplyLimit limit_;
  DestinationLimiter per_dest_;
  TokenBucket global_;
};

}  // namespace dprelay
