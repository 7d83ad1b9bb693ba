#include "control/metrics.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>

#include "absl/status/status.h"
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

prometheus::Labels LabelsOf(const MetricLabels& labels) {
  prometheus::Labels out;
  for (size_t i = 0; i < labels.size; ++i) {
    out.emplace(std::string(labels.labels[i].name), std::string(labels.labels[i].value));
  }
  return out;
}

}  // namespace

struct Metrics::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  Gauge* endpoints_connecting = nullptr;
  Gauge* endpoints_open = nullptr;
  prometheus::Family<Counter>* drop_family = nullptr;
  prometheus::Family<Counter>* nic_family = nullptr;
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
  // Dataplane counters: the series each feeds and the value last seen.
  struct Mirror {
    Counter* counter = nullptr;
    uint64_t last = 0;

    // Adds what the dataplane counted since the last poll and returns it. Lower than before:
    // the dataplane restarted and counts from zero again.
    uint64_t Advance(uint64_t value) {
      const uint64_t delta = value >= last ? value - last : value;
      if (counter != nullptr) {
        counter->Increment(static_cast<double>(delta));
      }
      last = value;
      return delta;
    }
  };
  std::array<Mirror, kNumDataplaneCounters> counters{};  // nullptr: not exported or a gauge
  std::array<Gauge*, kNumDataplaneCounters> gauges{};    // the catalogue's gauges
  std::array<Mirror, kNumDropReasons> drops{};           // series added once the drop is not zero
  std::array<Counter*, kNumRings> ring_overflows{};
  std::map<std::pair<uint16_t, std::string>, Mirror> nic;  // by port and xstat name
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
  // The dataplane's counters, from its catalogue: one family per metric name.
  std::map<std::string_view, prometheus::Family<Counter>*> families;
  std::map<std::string_view, prometheus::Family<Gauge>*> gauge_families;
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    const CounterInfo& c = kDataplaneCounters[i];
    if (c.metric.empty()) {
      continue;
    }
    if (c.kind == CounterKind::kGauge) {
      prometheus::Family<Gauge>*& family = gauge_families[c.metric];
      if (family == nullptr) {
        family = &prometheus::BuildGauge()
                      .Name(std::string(c.metric))
                      .Help(std::string(c.help))
                      .Register(r);
      }
      impl->gauges[i] = &family->Add(LabelsOf(c.labels));
      continue;
    }
    prometheus::Family<Counter>*& family = families[c.metric];
    if (family == nullptr) {
      family = &prometheus::BuildCounter()
                    .Name(std::string(c.metric))
                    .Help(std::string(c.help))
                    .Register(r);
    }
    impl->counters[i].counter = &family->Add(LabelsOf(c.labels));
  }
  auto& endpoints = prometheus::BuildGauge()
                        .Name("tailscaled_peer_relay_endpoints")
                        .Help("Number of allocated Peer Relay endpoints")
                        .Register(r);
  impl->endpoints_connecting = &endpoints.Add({{"state", "connecting"}});
  impl->endpoints_open = &endpoints.Add({{"state", "open"}});
  impl->drop_family = &prometheus::BuildCounter()
                           .Name(std::string(kDropMetric))
                           .Help(std::string(kDropHelp))
                           .Register(r);
  auto& rings = prometheus::BuildCounter()
                    .Name(std::string(kRingOverflowMetric))
                    .Help(std::string(kRingOverflowHelp))
                    .Register(r);
  for (size_t i = 0; i < kNumRings; ++i) {
    impl->ring_overflows[i] =
        &rings.Add({{std::string(kRingMetricLabel), std::string(kRings[i].name)}});
  }
  impl->nic_family = &prometheus::BuildCounter()
                          .Name(std::string(kNicMetric))
                          .Help(std::string(kNicHelp))
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

void Metrics::UpdateDataplane(const ipc::StatsReply& stats) {
  Impl& m = *impl_;
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    if (m.gauges[i] != nullptr) {
      m.gauges[i]->Set(static_cast<double>(stats.counters.counters[i]));
    } else {
      m.counters[i].Advance(stats.counters.counters[i]);
    }
  }
  std::array<uint64_t, kNumDropReasons> drop_deltas{};
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    Impl::Mirror& mirror = m.drops[r];
    if (mirror.counter == nullptr && stats.counters.drops[r] != 0) {
      mirror.counter =
          &m.drop_family->Add({{std::string(kDropMetricLabel), std::string(kDropReasonLabels[r])}});
    }
    drop_deltas[r] = mirror.Advance(stats.counters.drops[r]);
  }
  for (size_t i = 0; i < kNumRings; ++i) {
    m.ring_overflows[i]->Increment(
        static_cast<double>(drop_deltas[static_cast<size_t>(kRings[i].overflow)]));
  }
  for (const ipc::NicXstat& x : stats.nic) {
    Impl::Mirror& mirror = m.nic[{x.port, x.name}];
    if (mirror.counter == nullptr) {
      mirror.counter = &m.nic_family->Add({{"port", absl::StrCat(x.port)}, {"name", x.name}});
    }
    mirror.Advance(x.value);
  }
}

}  // namespace dprelay::control
