// The durable high-water mark for LamportIDs (PROTOCOL.md §0 "Persistence", §9 item 7).
// The registry reserves IDs in blocks through this seam; the key store implements it on disk
// and tests use an in-memory one.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace dprelay::control {

class LamportStore {
 public:
  virtual ~LamportStore() = default;

  // The highest LamportID that may already have been handed out (0 when none ever was).
  virtual uint64_t LoadLamport() const = 0;
  // Durably records that every ID up to high_water may be handed out. Returns only after the
  // value is on stable storage; on error nothing above the previous mark may be used.
  virtual absl::Status StoreLamport(uint64_t high_water) = 0;
};

// A mark that lives as long as the process: for benchmarks and fuzzers, which need a registry
// but no persistence (never for a running relay: a restart would reuse LamportIDs).
class VolatileLamportStore : public LamportStore {
 public:
  uint64_t LoadLamport() const override { return value_; }
  absl::Status StoreLamport(uint64_t high_water) override {
    value_ = high_water;
    return absl::OkStatus();
  }

 private:
  uint64_t value_ = 0;
};

}  // namespace dprelay::control
