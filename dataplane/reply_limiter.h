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
// The per-destination buckets are a fixed table indexed by a seeded hash, not a map (the same
// buckets as control's limits, proto/token_bucket.h): memory is constant whatever is sent,
// nothing is allocated, evicted or scanned per packet, and destinations that share a bucket
// share its budget. Main lcore only.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "proto/addr.h"
#include "proto/drop_reasons.h"
#include "proto/source_block.h"
#include "proto/token_bucket.h"

namespace dprelay {

// Per-destination buckets in a fixed hashed table (proto/token_bucket.h), keyed by the
// destination's block (proto/source_block.h) and a salt.
class DestinationLimiter {
 public:
  DestinationLimiter(uint32_t rate, uint32_t burst, uint32_t buckets_log2)
      : rate_{.per_second = rate, .burst = burst}, table_(buckets_log2) {}

  // True if an answer to `dst` (with `salt`) may go now, and takes a token.
  bool Allow(const IpAddr& dst, uint32_t salt, uint64_t now_ns) {
    return table_.BucketOf(Key{SourceBlock(dst), salt})
        .Take(rate_, static_cast<uint32_t>(now_ns / 1'000'000));
  }
  size_t buckets() const { return table_.slots(); }

 private:
  struct Key {
    IpAddr block;
    uint32_t salt;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.block, k.salt);
    }
  };
  const TokenRate rate_;
  TokenBucketTable<Key> table_;
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
  const TokenRate global_rate_;
  TokenBucket global_;
};

}  // namespace dprelay
