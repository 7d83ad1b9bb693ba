// What every session installed by one control configuration shares: the server disco key (the
// sender of our Challenges) and the two lifetimes. Sessions refer to an interned entry by a
// 16-bit index instead of carrying 48 bytes each; entries are reference-counted and reused
// when their last session goes.
//
// Concurrency: single-threaded (the main lcore owns it).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/key.h"

namespace dprelay {

// The dataplane keeps per-session times on a 49.7-day wrapping millisecond clock
// (coarse_clock.h); control refuses lifetimes above 24 hours (control_config.h kMaxLifetime),
// and so does the dataplane.
inline constexpr int64_t kMaxLifetimeNs = 24ll * 3600 * 1'000'000'000;

struct InstallParams {
  DiscoKey server_key;
  int64_t bind_lifetime_ns = 0;
  int64_t steady_state_lifetime_ns = 0;

  bool operator==(const InstallParams&) const = default;
};

class InstallParamsTable {
 public:
  // Index of the entry equal to p, created if needed, with one more reference. Lifetimes must
  // be in (0, kMaxLifetimeNs]; at most 65535 distinct entries can be live.
  absl::StatusOr<uint16_t> Acquire(const InstallParams& p);
  // Drops one reference taken by Acquire.
  void Release(uint16_t index);
  const InstallParams& operator[](uint16_t index) const { return entries_[index].params; }

  // Entries with at least one reference.
  size_t live() const;
  size_t MemoryBytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    InstallParams params;
    uint32_t refs = 0;  // 0: free, reusable
  };
  // A handful of entries (one per control configuration seen since start): a linear search,
  // starting from the last hit, is cheaper than any index.
  std::vector<Entry> entries_;
  uint16_t last_hit_ = 0;
};

}  // namespace dprelay
