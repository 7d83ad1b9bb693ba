// 32-bit wrapping clocks for per-session state on the main lcore (DECISIONS.md, "Memory per
// session"): a session keeps its times as the low 32 bits of a millisecond or microsecond
// count, so that each time costs 4 bytes instead of 8. A difference of two such stamps is
// exact (modulo the unit) while the true interval is shorter than the clock's wrap.
#pragma once

#include <cstdint>

namespace dprelay {

// Milliseconds: wraps after 49.7 days. Session lifetimes are at most kMaxLifetimeNs (24 hours,
// install_params.h) and expiry runs every second, so the last-seen stamps of a live session
// are never further than that from now.
inline constexpr uint64_t kNsPerMs = 1'000'000;
inline uint32_t MsStamp(uint64_t now_ns) { return static_cast<uint32_t>(now_ns / kNsPerMs); }

// Microseconds: wraps after 71.6 minutes. Used for the Challenge -> Answer round trip.
inline constexpr uint64_t kNsPerUs = 1'000;
inline uint32_t UsStamp(uint64_t now_ns) { return static_cast<uint32_t>(now_ns / kNsPerUs); }

// now - then on a wrapping 32-bit clock: exact while the interval is under one wrap.
inline uint32_t StampsApart(uint32_t now, uint32_t then) { return now - then; }

// now - then for a stamp that should not be in the future: one up to half a wrap ahead of
// now (a caller's clock read before the stamp was taken) counts as no time at all. Exact for
// intervals under half a wrap (24.8 days on the millisecond clock).
inline uint32_t StampAge(uint32_t now, uint32_t then) {
  const uint32_t d = now - then;
  return d > (UINT32_MAX >> 1) ? 0 : d;
}

}  // namespace dprelay
