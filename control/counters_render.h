// `dprelayctl counters` (issue 11): every dataplane counter from its catalogue
// (proto/counter_catalogue.h), drops by reason, per-worker busy ratio, ring occupancy and the
// NIC's xstats.
//
// Control answers the admin command from the last StatsReply of its once-a-second poll, as
// JSON (CountersJson) or as text rendered from that JSON. dprelayctl --watch asks for JSON and
// renders the text itself, with per-second rates from two samples. The text renderer reads
// only the JSON, whose shape says what each value is:
//   {"sampled_unix_ms": T,
//    "counters": {name: value},   only goes up: rates are shown
//    "gauges": {name: value},     a level now
//    "drops": {reason: value},    every reason of proto/drop_reasons.h
//    "workers": [{"worker", "rx_packets", "tx_packets", "cycles", "busy_cycles", "busy_ratio"}],
//    "rings": [{"ring", "count", "capacity", "overflows"}],
//    "nic": [{"port", "xstats": {name: value}}]}
#pragma once

#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "proto/ipc.h"

namespace dprelay::control {

// sampled: when control received the reply.
nlohmann::ordered_json CountersJson(const ipc::StatsReply& stats, absl::Time sampled);

struct CountersTextOptions {
  bool all = false;  // also the counters that are zero (like VPP's `show errors` without it)
  // An earlier CountersJson: adds per-second rates and the busy ratio over the interval.
  const nlohmann::ordered_json* before = nullptr;
};
std::string RenderCountersText(const nlohmann::ordered_json& now,
                               const CountersTextOptions& options);

// The admin command's body: JSON (one line) or text without rates.
std::string RenderCounters(const ipc::StatsReply& stats, absl::Time sampled, bool json, bool all);

}  // namespace dprelay::control
