// NIC counters per port and queue (DESIGN.md §4 metrics, "per-port/queue NIC stats"): the
// PMD's extended statistics, read off the fast path when control asks for a stats snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dprelay {

// Prefix of every xstat in a StatsReply: "nic_p<port>_<xstat name>", e.g.
// "nic_p0_rx_q0_packets". Control exports them as dprelay_nic_xstats_total{port,name}.
inline constexpr char kXstatPrefix[] = "nic_p";

// The port's xstats under the prefix above; empty if the PMD has none or the call fails.
std::vector<std::pair<std::string, uint64_t>> ReadXstats(uint16_t port_id);

}  // namespace dprelay
