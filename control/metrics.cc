#include "control/metrics.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "proto/version.h"

namespace dprelay::control {
namespace {

using prometheus::Counter;
using prometheus::Gauge;

// Binds once to give a clear error (prometheus-cpp would throw) and to learn port 0's port.
absl::Status CheckBindable(const AddrPort& listen) {
  int fd = socket(listen.ip.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("--metrics_listen: socket: ", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss{};
  socklen_t len = ToSockaddr(listen, &ss);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  close(fd);
  if (rc != 0) {
    return absl::FailedPreconditionError(absl::StrCat("--metrics_listen=", FormatAddrPort(listen),
                                                      ": cannot bind: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

// The ring a drop counter is the overflow of, for dprelay_ring_overflows_total{ring}.
const char* RingOf(const std::string& drop_name) {
  // worker -> main lcore, one ring per class of work (dataplane/main_rings.h)
  if (drop_name == "drop_handshake_ring_full") {
    return "main_handshake";
  }
  if (drop_name == "drop_neighbour_ring_full") {
    return "main_neighbour";
  }
  if (drop_name == "drop_icmp_ring_full") {
    return "main_icmp";
  }
  if (drop_name == "drop_exception_ring_full") {
    return "exception";  // worker -> exception path
  }
  return nullptr;
}

}  // namespace

struct Metrics::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<Counter>* fwd_packets = nullptr;
  prometheus::Family<Counter>* fwd_bytes = nullptr;
  Gauge* endpoints_connecting = nullptr;
  Gauge* endpoints_open = nullptr;
  prometheus::Family<Counter>* drops = nullptr;
  prometheus::Family<Counter>* handshakes = nullptr;
  prometheus::Family<Counter>* rings = nullptr;
  prometheus::Family<Counter>* nic = nullptr;
  Counter* requests = nullptr;
  Counter* allocated_new = nullptr;
  Counter* allocated_existing = nullptr;
  std::array<Counter*, kRefusalCount> refusals{};
  Gauge* sessions = nullptr;
  Gauge* capacity = nullptr;
  Gauge* dataplane_up = nullptr;
  std::array<Counter*, net::kStreamCounterCount> health_connections{};
  std::array<Counter*, net::kStreamCounterCount> admin_connections{};

  // Control's own counters as last exported.
  ControlMetricsSnapshot last_control;
  // Dataplane counters: the metric each name feeds and the value last seen.
  struct Mirror {
    Counter* counter = nullptr;
    uint64_t last = 0;
  };
  absl::flat_hash_map<std::string, Mirror> mirrors;

  Counter* CounterFor(const std::string& name) {
    // "forwarded_{packets,bytes}_udp<in>_udp<out>": the reference's four series each.
    // "forwarded_packets"/"forwarded_bytes" are their sums, not exported a second time.
    for (auto [prefix, family] :
         {std::pair{"forwarded_packets", fwd_packets}, std::pair{"forwarded_bytes", fwd_bytes}}) {
      if (name == prefix) {
        return nullptr;
      }
      for (const char* in : {"udp4", "udp6"}) {
        for (const char* out : {"udp4", "udp6"}) {
          if (name == absl::StrCat(prefix, "_", in, "_", out)) {
            return &family->Add({{"transport_in", in}, {"transport_out", out}});
          }
        }
      }
    }
    if (name == "challenges_sent") {
      return &handshakes->Add({{"outcome", "challenge_sent"}});
    }
    if (name == "legs_bound") {
      return &handshakes->Add({{"outcome", "bound"}});
    }
    if (absl::StartsWith(name, "drop_")) {
      if (const char* ring = RingOf(name); ring != nullptr) {
        rings->Add({{"ring", ring}});  // also exported as a drop reason
      }
      return &drops->Add({{"reason", name.substr(5)}});
    }
    if (absl::StartsWith(name, "nic_p")) {
      // "nic_p<port>_<xstat>" from drivers/xstats.h.
      const size_t underscore = name.find('_', 5);
      if (underscore != std::string::npos && underscore > 5) {
        return &nic->Add(
            {{"port", name.substr(5, underscore - 5)}, {"name", name.substr(underscore + 1)}});
      }
      return nullptr;
    }
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        return nullptr;  // not a valid metric name: skipped
      }
    }
    return &prometheus::BuildCounter()
                .Name(absl::StrCat("dprelay_dataplane_", name, "_total"))
                .Help(absl::StrCat("The dataplane's ", name, " counter"))
                .Register(*registry)
                .Add({});
  }
};

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const AddrPort& listen) {
  if (absl::Status s = CheckBindable(listen); !s.ok()) {
    return s;
  }
  auto impl = std::make_unique<Impl>();
  // The one place a third-party library reports errors by throwing (civetweb start-up).
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(FormatAddrPort(listen), 2);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("--metrics_listen=", FormatAddrPort(listen), ": ", e.what()));
  }
  prometheus::Registry& r = *impl->registry;
  impl->fwd_packets = &prometheus::BuildCounter()
                           .Name("tailscaled_peer_relay_forwarded_packets_total")
                           .Help("Number of packets forwarded via Peer Relay")
                           .Register(r);
  impl->fwd_bytes = &prometheus::BuildCounter()
                         .Name("tailscaled_peer_relay_forwarded_bytes_total")
                         .Help("Number of bytes forwarded via Peer Relay")
                         .Register(r);
  for (const char* in : {"udp4", "udp6"}) {
    for (const char* out : {"udp4", "udp6"}) {
      impl->fwd_packets->Add({{"transport_in", in}, {"transport_out", out}});
      impl->fwd_bytes->Add({{"transport_in", in}, {"transport_out", out}});
    }
  }
  auto& endpoints = prometheus::BuildGauge()
                        .Name("tailscaled_peer_relay_endpoints")
                        .Help("Number of allocated Peer Relay endpoints")
                        .Register(r);
  impl->endpoints_connecting = &endpoints.Add({{"state", "connecting"}});
  impl->endpoints_open = &endpoints.Add({{"state", "open"}});
  impl->drops = &prometheus::BuildCounter()
                     .Name("dprelay_dataplane_drops_total")
                     .Help("Packets the dataplane dropped, by reason")
                     .Register(r);
  impl->handshakes = &prometheus::BuildCounter()
                          .Name("dprelay_handshakes_total")
                          .Help("Relay handshakes by outcome (failures are drop reasons)")
                          .Register(r);
  impl->rings = &prometheus::BuildCounter()
                     .Name("dprelay_ring_overflows_total")
                     .Help("Packets dropped because a ring between lcores was full")
                     .Register(r);
  for (const char* ring : {"main_handshake", "main_neighbour", "main_icmp", "exception"}) {
    impl->rings->Add({{"ring", ring}});
  }
  impl->nic = &prometheus::BuildCounter()
                   .Name("dprelay_nic_xstats_total")
                   .Help("The NIC's extended statistics (DPDK xstats) per port and name")
                   .Register(r);
  impl->requests = &prometheus::BuildCounter()
                        .Name("dprelay_allocation_requests_total")
                        .Help("Datagrams received on the allocation socket")
                        .Register(r)
                        .Add({});
  auto& allocations = prometheus::BuildCounter()
                          .Name("dprelay_allocations_total")
                          .Help("Allocation requests answered: new endpoint or existing one")
                          .Register(r);
  impl->allocated_new = &allocations.Add({{"result", "new"}});
  impl->allocated_existing = &allocations.Add({{"result", "existing"}});
  auto& refusals = prometheus::BuildCounter()
                       .Name("dprelay_allocation_refusals_total")
                       .Help("Allocation requests refused (never answered), by reason")
                       .Register(r);
  for (size_t i = 0; i < kRefusalCount; ++i) {
    impl->refusals[i] = &refusals.Add({{"reason", std::string(kRefusalLabels[i])}});
  }
  impl->sessions = &prometheus::BuildGauge()
                        .Name("dprelay_sessions")
                        .Help("Live endpoints in control's registry")
                        .Register(r)
                        .Add({});
  impl->capacity = &prometheus::BuildGauge()
                        .Name("dprelay_session_capacity")
                        .Help(
                            "The most live endpoints the relay holds: the dataplane's session "
                            "table, or the policy's capacity if lower")
                        .Register(r)
                        .Add({});
  prometheus::BuildGauge()
      .Name("dprelay_build_info")
      .Help("Always 1: the version of dprelay and of the DPDK it was built with, as labels")
      .Register(r)
      .Add({{"version", kVersion}, {"dpdk_version", kDpdkVersion}})
      .Set(1);
  impl->dataplane_up = &prometheus::BuildGauge()
                            .Name("dprelay_dataplane_up")
                            .Help("1 while the dataplane is connected and synced")
                            .Register(r)
                            .Add({});
  auto& connections = prometheus::BuildCounter()
                          .Name("dprelay_endpoint_connections_total")
                          .Help(
                              "Connections to the health and admin endpoints, by what became "
                              "of them (refused at a cap, evicted, timed out)")
                          .Register(r);
  for (size_t i = 0; i < net::kStreamCounterCount; ++i) {
    const std::string event(net::kStreamCounterLabels[i]);
    impl->health_connections[i] = &connections.Add({{"endpoint", "health"}, {"event", event}});
    impl->admin_connections[i] = &connections.Add({{"endpoint", "admin"}, {"event", event}});
  }
  impl->exposer->RegisterCollectable(impl->registry);
  return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

uint16_t Metrics::port() const {
  std::vector<int> ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports[0]);
}

void Metrics::UpdateControl(const ControlMetricsSnapshot& s) {
  Impl& m = *impl_;
  m.requests->Increment(static_cast<double>(s.requests - m.last_control.requests));
  m.allocated_new->Increment(static_cast<double>(s.allocated - m.last_control.allocated));
  m.allocated_existing->Increment(static_cast<double>(s.reallocated - m.last_control.reallocated));
  for (size_t i = 0; i < kRefusalCount; ++i) {
    m.refusals[i]->Increment(static_cast<double>(s.refusals[i] - m.last_control.refusals[i]));
  }
  m.sessions->Set(static_cast<double>(s.sessions));
  m.capacity->Set(static_cast<double>(s.capacity));
  m.endpoints_open->Set(static_cast<double>(s.sessions_open));
  m.endpoints_connecting->Set(static_cast<double>(s.sessions - s.sessions_open));
  m.dataplane_up->Set(s.dataplane_up ? 1 : 0);
  for (size_t i = 0; i < net::kStreamCounterCount; ++i) {
    m.health_connections[i]->Increment(
        static_cast<double>(s.health_connections[i] - m.last_control.health_connections[i]));
    m.admin_connections[i]->Increment(
        static_cast<double>(s.admin_connections[i] - m.last_control.admin_connections[i]));
  }
  m.last_control = s;
}

void Metrics::UpdateDataplane(const std::vector<std::pair<std::string, uint64_t>>& counters) {
  Impl& m = *impl_;
  for (const auto& [name, value] : counters) {
    auto it = m.mirrors.find(name);
    if (it == m.mirrors.end()) {
      it = m.mirrors.emplace(name, Impl::Mirror{.counter = m.CounterFor(name), .last = 0}).first;
    }
    Impl::Mirror& mirror = it->second;
    // Lower than before: the dataplane restarted and counts from zero again.
    const uint64_t delta = value >= mirror.last ? value - mirror.last : value;
    if (mirror.counter != nullptr) {
      mirror.counter->Increment(static_cast<double>(delta));
      if (const char* ring = RingOf(name); ring != nullptr && delta != 0) {
        m.rings->Add({{"ring", ring}}).Increment(static_cast<double>(delta));
      }
    }
    mirror.last = value;
  }
}

}  // namespace dprelay::control
