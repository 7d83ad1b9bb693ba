// The most recent allocation refusals (key, source, reason, time), so that an operator can
// answer "why was my relay not used" with `dprelayctl refusals`. A bounded ring: the oldest
// entry makes room for the newest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "control/refusal.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay::control {

struct RefusalRecord {
  absl::Time at;
  Refusal reason = Refusal::kInternal;
  std::optional<DiscoKey> sender;  // unset when the datagram had no disco wrapper
  AddrPort source;
};

// Not thread-safe: the control loop's thread only.
class RefusalLog {
 public:
  explicit RefusalLog(size_t capacity = 256) : capacity_(capacity == 0 ? 1 : capacity) {}

  void Add(const RefusalRecord& record);
  // Oldest first.
  std::vector<RefusalRecord> Recent() const;
  size_t capacity() const { return capacity_; }
  uint64_t total() const { return total_; }

 private:
  const size_t capacity_;
  std::vector<RefusalRecord> ring_;
  size_t next_ = 0;  // where the next record goes once the ring is full
  uint64_t total_ = 0;
};

}  // namespace dprelay::control
