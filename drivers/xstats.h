// NIC counters per port and queue (DESIGN.md §4 metrics, "per-port/queue NIC stats"): the
// PMD's extended statistics, read off the fast path when control asks for a stats snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dprelay {

// The port's xstats as the PMD names them (e.g. "rx_q0_packets"); empty if the PMD has none or
// the call fails. Control exports them as dprelay_nic_xstats_total{port,name}.
std::vector<std::pair<std::string, uint64_t>> ReadXstats(uint16_t port_id);

}  // namespace dprelay
