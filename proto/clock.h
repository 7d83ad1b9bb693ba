// The monotonic clock every process uses for lifetimes and measurements (CLOCK_MONOTONIC, ns).
#pragma once

#include <time.h>

#include <cstdint>

namespace dprelay {

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

}  // namespace dprelay
