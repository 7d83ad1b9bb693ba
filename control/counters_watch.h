// `dprelayctl counters --watch N` (issue 11): the counters again every N seconds, with
// per-second rates between samples in the text view.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "control/admin_protocol.h"

namespace dprelay::control {

// Asks control for the counters as JSON every `interval` and prints them: as text (all: the
// zero counters too) with rates from the sample before, or with json one JSON document per
// line. Runs until interrupted; returns 1 (the error printed on stderr) when control fails to
// answer.
int WatchCounters(const std::string& socket, absl::Duration timeout, absl::Duration interval,
                  bool json, bool all);

}  // namespace dprelay::control
