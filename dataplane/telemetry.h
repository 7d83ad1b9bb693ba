// DPDK telemetry (issue 11): the dataplane's counters, from their catalogue
// (proto/counter_catalogue.h), as telemetry commands, so that DPDK's own dpdk-telemetry.py
// shows them on a running relay beside DPDK's /ethdev/... commands:
//   /dprelay/counters  {name: value} for every counter of the catalogue
//   /dprelay/drops     {reason: value} for every drop reason
//   /dprelay/workers   {"<worker>": {rx_packets, tx_packets, cycles, busy_cycles, busy_percent}}
//   /dprelay/rings     {ring: {count, capacity, overflows}}
// The socket is <EAL runtime dir>/dpdk_telemetry.v2, i.e. /var/run/dpdk/<--file-prefix>/ for
// root, also with --no-shconf or --in-memory (docs/COUNTERS.md); --no-telemetry turns it off.
//
// The callbacks run on DPDK's telemetry thread. They read the per-lcore counter blocks with
// relaxed loads, as the main lcore does (StatsSource), so nothing is added to the workers'
// path; a mutex only orders them against UnpublishTelemetry at shutdown.
#pragma once

#include "absl/status/status.h"
#include "dataplane/stats_source.h"

namespace dprelay {

// Registers the commands (once per process: DPDK cannot unregister one) and answers them from
// source, which must stay valid until UnpublishTelemetry. Errors name the command.
absl::Status PublishTelemetry(const StatsSource& source);
// The commands answer null from now on.
void UnpublishTelemetry();

}  // namespace dprelay
