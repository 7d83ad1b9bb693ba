// The dataplane's counters, described once (STYLE.md 5, like proto/drop_reasons.h): name,
// kind, Prometheus metric and labels, help. Everything that shows them is generated from this
// list: the IPC StatsReply (values in this order), control's Prometheus metrics, `dprelayctl
// counters`, the dataplane's DPDK telemetry commands and its log line. Nothing re-parses a
// counter's name.
//
// The dataplane fills the values (dataplane/counters.cc: which LcoreCounters member or sum each
// one is); control and dprelayctl only read them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/drop_reasons.h"

namespace dprelay {

enum class CounterKind : uint8_t {
  kCounter,  // only goes up (until the dataplane restarts)
  kGauge,    // a level now
};

struct MetricLabel {
  std::string_view name;
  std::string_view value;
};

// At most two labels per series: enough for every counter here.
struct MetricLabels {
  std::array<MetricLabel, 2> labels{};
  size_t size = 0;
};
constexpr MetricLabels Labels() { return {}; }
constexpr MetricLabels Labels(std::string_view n, std::string_view v) {
  return {{{{n, v}, {}}}, 1};
}
constexpr MetricLabels Labels(std::string_view n1, std::string_view v1, std::string_view n2,
                              std::string_view v2) {
  return {{{{n1, v1}, {n2, v2}}}, 2};
}

// X(id, name, kind, metric, labels, help). name: what the dataplane's log, `dprelayctl
// counters` and telemetry call it. metric: its Prometheus family ("" = not exported, e.g.
// totals that are the sum of exported series). Series of one family share its help.
// clang-format off
#define DPRELAY_DATAPLANE_COUNTERS(X)                                                               \
  X(kRxPackets, "rx_packets", kCounter, "dprelay_dataplane_rx_packets_total", Labels(),            \
    "Packets the workers received from the NIC")                                                   \
  X(kTxPackets, "tx_packets", kCounter, "dprelay_dataplane_tx_packets_total", Labels(),            \
    "Packets the NIC took for sending (forwarded and the relay's own)")                            \
  X(kForwardedPackets, "forwarded_packets", kCounter, "", Labels(),                               \
    "Packets forwarded, all family directions together")                                           \
  X(kForwardedBytes, "forwarded_bytes", kCounter, "", Labels(),                                   \
    "UDP payload bytes (Geneve included) forwarded, all family directions together")               \
  X(kChallengesSent, "challenges_sent", kCounter, "dprelay_handshakes_total",                     \
    Labels("outcome", "challenge_sent"), "Relay handshakes by outcome (failures are drop reasons)") \
  X(kLegsBound, "legs_bound", kCounter, "dprelay_handshakes_total", Labels("outcome", "bound"),    \
    "Relay handshakes by outcome (failures are drop reasons)")                                     \
  X(kArpReplies, "arp_replies", kCounter, "dprelay_dataplane_arp_replies_total", Labels(),         \
    "ARP replies sent for the relay's address")                                                     \
  X(kArpRequests, "arp_requests", kCounter, "dprelay_dataplane_arp_requests_total", Labels(),      \
    "ARP requests sent to resolve next hops")                                                       \
  X(kIcmpEchoReplies, "icmp_echo_replies", kCounter, "dprelay_dataplane_icmp_echo_replies_total", \
    Labels(), "ICMP and ICMPv6 echo replies sent")                                                  \
  X(kNdAdvertisements, "nd_advertisements", kCounter,                                              \
    "dprelay_dataplane_nd_advertisements_total", Labels(),                                         \
    "IPv6 Neighbour Advertisements sent (answers)")                                                 \
  X(kNdSolicitations, "nd_solicitations", kCounter, "dprelay_dataplane_nd_solicitations_total",   \
    Labels(), "IPv6 Neighbour Solicitations sent to resolve next hops")                            \
  X(kMldReports, "mld_reports", kCounter, "dprelay_dataplane_mld_reports_total", Labels(),         \
    "MLDv2 reports sent for the relay's multicast groups")                                          \
  X(kToException, "to_exception", kCounter, "dprelay_dataplane_to_exception_total", Labels(),      \
    "Packets workers handed to the exception path (--exception_iface)")                            \
  X(kExceptionToKernel, "exception_to_kernel", kCounter,                                           \
    "dprelay_dataplane_exception_to_kernel_total", Labels(),                                       \
    "Packets given to the kernel through the exception interface")                                 \
  X(kExceptionFromKernel, "exception_from_kernel", kCounter,                                       \
    "dprelay_dataplane_exception_from_kernel_total", Labels(),                                     \
    "Packets the kernel sent through the exception interface")                                     \
  X(kWorkerCycles, "worker_cycles", kCounter, "dprelay_dataplane_worker_cycles_total", Labels(),   \
    "TSC cycles of the worker loops, all workers")                                                  \
  X(kWorkerBusyCycles, "worker_busy_cycles", kCounter,                                             \
    "dprelay_dataplane_worker_busy_cycles_total", Labels(),                                        \
    "TSC cycles of worker polls that found packets (busy ratio = busy / all)")                     \
  X(kToMainHandshake, "to_main_handshake", kCounter, "dprelay_dataplane_to_main_handshake_total",  \
    Labels(), "Handshake packets workers handed to the main lcore")                                \
  X(kToMainNeighbour, "to_main_neighbour", kCounter, "dprelay_dataplane_to_main_neighbour_total",  \
    Labels(), "ARP and ND packets workers handed to the main lcore")                               \
  X(kToMainIcmp, "to_main_icmp", kCounter, "dprelay_dataplane_to_main_icmp_total", Labels(),       \
    "Other ICMP packets workers handed to the main lcore")                                          \
  X(kToMain, "to_main", kCounter, "dprelay_dataplane_to_main_total", Labels(),                     \
    "Packets workers handed to the main lcore, all classes")                                       \
  X(kForwardedPackets44, "forwarded_packets_udp4_udp4", kCounter,                                  \
    "tailscaled_peer_relay_forwarded_packets_total", Labels("transport_in", "udp4", "transport_out", "udp4"), \
    "Number of packets forwarded via Peer Relay")                                                  \
  X(kForwardedBytes44, "forwarded_bytes_udp4_udp4", kCounter,                                      \
    "tailscaled_peer_relay_forwarded_bytes_total", Labels("transport_in", "udp4", "transport_out", "udp4"), \
    "Number of bytes forwarded via Peer Relay")                                                    \
  X(kForwardedPackets46, "forwarded_packets_udp4_udp6", kCounter,                                  \
    "tailscaled_peer_relay_forwarded_packets_total", Labels("transport_in", "udp4", "transport_out", "udp6"), \
    "Number of packets forwarded via Peer Relay")                                                  \
  X(kForwardedBytes46, "forwarded_bytes_udp4_udp6", kCounter,                                      \
    "tailscaled_peer_relay_forwarded_bytes_total", Labels("transport_in", "udp4", "transport_out", "udp6"), \
    "Number of bytes forwarded via Peer Relay")                                                    \
  X(kForwardedPackets64, "forwarded_packets_udp6_udp4", kCounter,                                  \
    "tailscaled_peer_relay_forwarded_packets_total", Labels("transport_in", "udp6", "transport_out", "udp4"), \
    "Number of packets forwarded via Peer Relay")                                                  \
  X(kForwardedBytes64, "forwarded_bytes_udp6_udp4", kCounter,                                      \
    "tailscaled_peer_relay_forwarded_bytes_total", Labels("transport_in", "udp6", "transport_out", "udp4"), \
    "Number of bytes forwarded via Peer Relay")                                                    \
  X(kForwardedPackets66, "forwarded_packets_udp6_udp6", kCounter,                                  \
    "tailscaled_peer_relay_forwarded_packets_total", Labels("transport_in", "udp6", "transport_out", "udp6"), \
    "Number of packets forwarded via Peer Relay")                                                  \
  X(kForwardedBytes66, "forwarded_bytes_udp6_udp6", kCounter,                                      \
    "tailscaled_peer_relay_forwarded_bytes_total", Labels("transport_in", "udp6", "transport_out", "udp6"), \
    "Number of bytes forwarded via Peer Relay")                                                    \
  /* the control link (dataplane/ipc_server.h), published by the main lcore */                     \
  X(kIpcQueuedMessages, "ipc_queued_messages", kCounter,                                           \
    "dprelay_dataplane_ipc_queued_messages_total", Labels(),                                       \
    "IPC messages to control that had to wait for room in the socket")                             \
  X(kIpcPendingMessages, "ipc_pending_messages", kGauge,                                         \
    "dprelay_dataplane_ipc_pending_messages_total", Labels(),                                      \
    "IPC messages to control waiting now")                                                          \
  X(kIpcQueueOverflows, "ipc_queue_overflows", kCounter,                                           \
    "dprelay_dataplane_ipc_queue_overflows_total", Labels(),                                       \
    "Times the IPC queue to control overflowed and the link was closed")                           \
  X(kIpcRefusedPeers, "ipc_refused_peers", kCounter, "dprelay_dataplane_ipc_refused_peers_total",  \
    Labels(), "IPC connections refused by SO_PEERCRED")
// clang-format on

enum class DataplaneCounter : uint8_t {
#define DPRELAY_COUNTER_ENUM(id, name, kind, metric, labels, help) id,
  DPRELAY_DATAPLANE_COUNTERS(DPRELAY_COUNTER_ENUM)
#undef DPRELAY_COUNTER_ENUM
};

struct CounterInfo {
  std::string_view name;
  CounterKind kind;
  std::string_view metric;  // "" = not exported
  MetricLabels labels;
  std::string_view help;
};

inline constexpr CounterInfo kDataplaneCounters[] = {
#define DPRELAY_COUNTER_INFO(id, name, kind, metric, labels, help) \
  {name, CounterKind::kind, metric, labels, help},
    DPRELAY_DATAPLANE_COUNTERS(DPRELAY_COUNTER_INFO)
#undef DPRELAY_COUNTER_INFO
};
inline constexpr size_t kNumDataplaneCounters = std::size(kDataplaneCounters);

inline constexpr const CounterInfo& InfoOf(DataplaneCounter c) {
  return kDataplaneCounters[static_cast<size_t>(c)];
}

// Drops: one series per reason of proto/drop_reasons.h, named "drop_<label>".
inline constexpr std::string_view kDropNamePrefix = "drop_";
inline constexpr std::string_view kDropMetric = "dprelay_dataplane_drops_total";
inline constexpr std::string_view kDropMetricLabel = "reason";
inline constexpr std::string_view kDropHelp = "Packets the dataplane dropped, by reason";

// Rings between lcores and the drop reason their overflow is counted as; the overflows are
// also exported as dprelay_ring_overflows_total{ring}.
struct RingInfo {
  std::string_view name;
  DropReason overflow;
};
inline constexpr RingInfo kRings[] = {
    {"main_handshake", DropReason::kHandshakeRingFull},  // worker -> main lcore, per class
    {"main_neighbour", DropReason::kNeighbourRingFull},  // (dataplane/main_rings.h)
    {"main_icmp", DropReason::kIcmpRingFull},
    {"exception", DropReason::kExceptionRingFull},  // worker -> exception path
};
inline constexpr size_t kNumRings = std::size(kRings);
inline constexpr std::string_view kRingOverflowMetric = "dprelay_ring_overflows_total";
inline constexpr std::string_view kRingMetricLabel = "ring";
inline constexpr std::string_view kRingOverflowHelp =
    "Packets dropped because a ring between lcores was full";

// The NIC's extended statistics (DPDK xstats): names come from the PMD, so they travel as
// strings (one family, labelled by port and the PMD's name).
inline constexpr std::string_view kNicMetric = "dprelay_nic_xstats_total";
inline constexpr std::string_view kNicHelp =
    "The NIC's extended statistics (DPDK xstats) per port and name";

// One snapshot of every counter: what the dataplane sums over its lcores.
struct DataplaneCounterValues {
  std::array<uint64_t, kNumDataplaneCounters> counters{};  // catalogue order
  std::array<uint64_t, kNumDropReasons> drops{};           // DropReason order

  uint64_t operator[](DataplaneCounter c) const { return counters[static_cast<size_t>(c)]; }
  uint64_t& operator[](DataplaneCounter c) { return counters[static_cast<size_t>(c)]; }
  uint64_t drop(DropReason r) const { return drops[static_cast<size_t>(r)]; }

  bool operator==(const DataplaneCounterValues&) const = default;
};

// "drop_<label>".
std::string DropCounterName(DropReason r);
// Every counter as (name, value) in catalogue order, then the drops that are not zero: the
// dataplane's "counters:" log line and tests that look counters up by name.
std::vector<std::pair<std::string, uint64_t>> NamedCounters(const DataplaneCounterValues& v);

}  // namespace dprelay
