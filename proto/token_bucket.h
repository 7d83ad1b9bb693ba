// Token buckets with bounded memory, for limits on what a relay does for traffic it has not
// (yet) authenticated: one bucket (a global limit), or a fixed table of buckets indexed by a
// hash of the key (a per-source or per-destination limit).
//
// A table is not a map: its memory is fixed at construction whatever keys arrive, nothing is
// allocated or scanned per call, and keys that share a slot share its budget. The hash is
// absl::Hash, seeded per process, so a sender cannot aim its keys at someone else's slot from
// outside. Integer arithmetic in thousandths of a token and whole milliseconds: no floating
// point, and a clock that wraps (uint32 ms, 49 days) only ever shortens one refill.
//
// Not thread-safe: each table has one owner thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/hash/hash.h"

namespace dprelay {

struct TokenRate {
  uint32_t per_second = 0;
  uint32_t burst = 1;  // tokens a full bucket holds (at least 1 is useful)
};

class TokenBucket {
 public:
  // Refills for the time since the last call and says whether a whole token is there. A bucket
  // never used starts full. Does not take the token: see Spend().
  bool Ready(const TokenRate& rate, uint32_t now_ms) {
    const uint64_t cap = uint64_t{rate.burst} * 1000;
    if (!used_) {
      used_ = true;
      milli_ = static_cast<uint32_t>(std::min<uint64_t>(cap, UINT32_MAX));
    } else {
      // Wrapping difference, capped at what a refill from empty takes so that elapsed * rate
      // cannot overflow (tokens per second = thousandths per millisecond).
      const uint64_t elapsed = static_cast<uint32_t>(now_ms - updated_ms_);
      uint64_t refill = 0;
      if (rate.per_second != 0) {
        refill = std::min<uint64_t>(elapsed, cap / rate.per_second + 1) * rate.per_second;
      }
      milli_ = static_cast<uint32_t>(std::min<uint64_t>({cap, milli_ + refill, UINT32_MAX}));
    }
    updated_ms_ = now_ms;
    return milli_ >= 1000;
  }
  // Takes one token; only after Ready() returned true.
  void Spend() { milli_ -= 1000; }

  bool Take(const TokenRate& rate, uint32_t now_ms) {
    if (!Ready(rate, now_ms)) {
      return false;
    }
    Spend();
    return true;
  }

 private:
  uint32_t milli_ = 0;       // thousandths of a token
  uint32_t updated_ms_ = 0;  // last refill on the caller's clock
  bool used_ = false;
};

template <typename Key>
class TokenBucketTable {
 public:
  explicit TokenBucketTable(uint32_t slots_log2) : slots_(size_t{1} << slots_log2) {}

  TokenBucket& BucketOf(const Key& key) {
    return slots_[absl::Hash<Key>{}(key) & (slots_.size() - 1)];
  }
  size_t slots() const { return slots_.size(); }

 private:
  std::vector<TokenBucket> slots_;
};

}  // namespace dprelay
