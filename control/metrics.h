// The Prometheus exporter (DESIGN.md §4 "Metrics"), on --metrics_listen. prometheus-cpp serves
// scrapes from its own civetweb threads; the control loop only updates values, which
// prometheus-cpp makes thread-safe.
//
// Names: the reference's (PROTOCOL.md §6) exactly,
//   tailscaled_peer_relay_forwarded_packets_total{transport_in,transport_out}
//   tailscaled_peer_relay_forwarded_bytes_total{transport_in,transport_out}
//   tailscaled_peer_relay_endpoints{state="connecting"|"open"}
// and the dataplane's counters as its catalogue (proto/counter_catalogue.h) names them:
//   dprelay_dataplane_drops_total{reason}           every drop reason, once it is not zero
//   dprelay_dataplane_<counter>_total               its other counters (rx_packets, ...)
//   dprelay_handshakes_total{outcome}               challenge_sent, bound
//   dprelay_ring_overflows_total{ring}              "main_handshake", "main_neighbour", "main_icmp" (worker -> main lcore), "exception"
//   dprelay_nic_xstats_total{port,name}            DPDK xstats, e.g. name="rx_q0_packets"
// and control's own:
//   dprelay_allocation_requests_total
//   dprelay_allocations_total{result="new"|"existing"}
//   dprelay_allocation_refusals_total{reason}       every reason of control/refusal.h
//   dprelay_sessions                                live endpoints in the registry
//   dprelay_session_capacity                        the most live endpoints it will hold
//   dprelay_dataplane_up                            1 while connected and synced
//   dprelay_endpoint_connections_total{endpoint="health"|"admin",event}
//                                                   accepted, refused and evicted connections,
//                                                   header timeouts (net/stream_counters.h)
// Dataplane counters are mirrored from its StatsReply (polled every second): a value that
// went down means the dataplane restarted, and the new value is added.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/refusal.h"
#include "net/stream_counters.h"
#include "proto/addr.h"
#include "proto/ipc.h"

namespace dprelay::control {

struct ControlMetricsSnapshot {
  uint64_t requests = 0;
  uint64_t allocated = 0;
  uint64_t reallocated = 0;
  std::array<uint64_t, kRefusalCount> refusals{};
  uint64_t sessions = 0;
  uint64_t sessions_open = 0;
  // The dataplane's session table (its VNI range), or the policy's capacity if that is lower.
  uint64_t capacity = 0;
  bool dataplane_up = false;
  net::StreamCounters health_connections{};
  net::StreamCounters admin_connections{};
};

// Not thread-safe for updates: the control loop's thread only.
class Metrics {
 public:
  // Errors name the flag and address (e.g. the port is taken).
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const AddrPort& listen);
  ~Metrics();

  void UpdateControl(const ControlMetricsSnapshot& s);
  void UpdateDataplane(const ipc::StatsReply& stats);
  // The port actually bound (useful with port 0).
  uint16_t port() const;

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dprelay::control
