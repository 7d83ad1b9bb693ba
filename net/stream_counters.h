// What a StreamServer counts, one row per counter (STYLE.md 19): the enum, the metric label
// and the help text come from this list. Control exports them as
// dprelay_endpoint_connections_total{endpoint, event}.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dprelay::net {

// X(enumerator, label, help)
#define DPRELAY_STREAM_COUNTERS(X)                                                          \
  X(kAccepted, "accepted", "connections accepted")                                          \
  X(kRefusedSourceCap, "refused_source_cap",                                                \
    "connections refused: their source already held its maximum")                           \
  X(kRefusedTotalCap, "refused_total_cap",                                                  \
    "connections refused: the server was full and no source held more than theirs")         \
  X(kEvicted, "evicted",                                                                    \
    "connections closed to make room for a source holding fewer (the oldest of the source " \
    "holding the most)")                                                                    \
  X(kNoSource, "no_source", "connections refused: their source could not be identified")    \
  X(kHeaderTimeout, "header_timeout",                                                       \
    "connections closed unanswered: request not complete within the header timeout")        \
  X(kTooLong, "too_long", "requests longer than the cap (answered with an error)")

enum class StreamCounter : uint8_t {
#define DPRELAY_STREAM_COUNTER_ENUM(name, label, help) name,
  DPRELAY_STREAM_COUNTERS(DPRELAY_STREAM_COUNTER_ENUM)
#undef DPRELAY_STREAM_COUNTER_ENUM
      kCount
};

inline constexpr size_t kStreamCounterCount = static_cast<size_t>(StreamCounter::kCount);

inline constexpr std::array<std::string_view, kStreamCounterCount> kStreamCounterLabels = {
#define DPRELAY_STREAM_COUNTER_LABEL(name, label, help) label,
    DPRELAY_STREAM_COUNTERS(DPRELAY_STREAM_COUNTER_LABEL)
#undef DPRELAY_STREAM_COUNTER_LABEL
};

using StreamCounters = std::array<uint64_t, kStreamCounterCount>;

}  // namespace dprelay::net
