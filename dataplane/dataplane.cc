#include "dataplane/dataplane.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pdump.h>
#include <rte_ring.h>
#include <time.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "dataplane/telemetry.h"
#include "drivers/exception_port.h"
#include "drivers/multicast.h"
#include "proto/clock.h"
#include "proto/log.h"

namespace dprelay {
namespace {

// Main lcore -> worker 0 TX handoff (only for ports without a TX queue for the main lcore):
// Challenges, ARP and ICMP replies, a few per handshake.
constexpr unsigned kTxHandoffRingSize = 1024;
// Workers -> exception path: TCP and other non-relay traffic for the kernel (health checks,
// SSH). 1024 holds several full TCP windows while the main lcore is in a handshake.
constexpr unsigned kToExceptionRingSize = 1024;

struct WorkerArg {
  Worker* worker;
  const std::atomic<bool>* stop;
  uint32_t idle_sleep_us;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Dataplane>> Dataplane::Create(const DataplaneConfig& config) {
  std::unique_ptr<Dataplane> dp(new Dataplane(config));
  // Packet capture with dpdk-dumpcap (docs/CAPTURE.md): the capture process asks, over EAL's
  // multi-process channel, for copies of the port's packets. Nothing runs per packet until a
  // capture starts; without a shared config (--in-memory, --no-shconf) there is no channel
  // and so no capture, which rte_pdump_init tolerates.
  if (rte_pdump_init() != 0) {
    return absl::InternalError(
        absl::StrCat("packet capture (pdump) setup failed: ", rte_strerror(rte_errno)));
  }
  dp->pdump_ = true;
  const unsigned lcores = rte_lcore_count();
  const int n_workers = lcores > 1 ? static_cast<int>(lcores - 1) : 1;

  // The pool holds what the rings between lcores can: the main lcore's class rings, the TX
  // handoff and the exception ring.
  PortConfig pc{.spec = config.port,
                .index = 0,
                .workers = n_workers,
                .held_mbufs = MainRingsCapacity() + kTxHandoffRingSize + kToExceptionRingSize};
  absl::StatusOr<PortInfo> port = BringUpPort(pc);
  if (!port.ok()) {
    return port.status();
  }
  dp->port_ = *port;
  dp->port_up_ = true;

  absl::StatusOr<MainRings> rings = MainRings::Create("dprelay_main");
  if (!rings.ok()) {
    return rings.status();
  }
  dp->to_main_ = *rings;
  const bool main_has_txq = dp->port_.tx_queues > n_workers;
  if (!main_has_txq) {
    dp->tx_handoff_ = rte_ring_create("dprelay_main_tx", kTxHandoffRingSize, rte_socket_id(),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (dp->tx_handoff_ == nullptr) {
      return absl::ResourceExhaustedError("cannot create the main lcore TX handoff ring");
    }
  }
  dp->n_counters_ = n_workers + 1;
  dp->counters_ = std::make_unique<LcoreCounters[]>(dp->n_counters_);
  dp->table_ =
      std::make_unique<SessionTable>(config.capacity, n_workers, config.address6.has_value());
  dp->neighbours_ = std::make_unique<Neighbours>(config.next_hops());

  LocalIdentity local{.ip_be = config.address.addr_be,
                      .port_be = htons(config.relay_port),
                      .port_id = dp->port_.port_id};
  std::copy(std::begin(dp->port_.mac), std::end(dp->port_.mac), local.mac.begin());
  if (config.address6) {
    local.ipv6 = true;
    local.ip6 = config.address6->addr;
    local.ll6 = LinkLocalFromMac(local.mac);
    // Neighbours solicit our addresses at their solicited-node groups.
    const EtherAddr groups[] = {Ipv6MulticastMac(SolicitedNodeMulticast(local.ip6)),
                                Ipv6MulticastMac(SolicitedNodeMulticast(local.ll6)),
                                Ipv6MulticastMac(kIpv6AllNodes)};
    if (absl::Status s = JoinMulticast(config.port, dp->port_.port_id, groups); !s.ok()) {
      return s;
    }
  }
  const MainTx main_tx{.port_id = dp->port_.port_id,
                       .queue = static_cast<uint16_t>(n_workers),
                       .handoff = dp->tx_handoff_,
                       .counters = &dp->counters_[n_workers]};
  if (absl::Status s = dp->SetUpException(local, main_tx, &dp->counters_[n_workers]); !s.ok()) {
    return s;
  }
  for (int w = 0; w < n_workers; ++w) {
    WorkerContext wc{.port_id = dp->port_.port_id,
                     .rx_queue = static_cast<uint16_t>(w),
                     .tx_queue = static_cast<uint16_t>(w),
                     .lcore_index = static_cast<uint32_t>(w),
                     .table = dp->table_.get(),
                     .counters = &dp->counters_[w],
                     .to_main = dp->to_main_,
                     .tx_from_main = w == 0 ? dp->tx_handoff_ : nullptr,
                     .to_exception = dp->to_exception_,
                     .mtu = pc.mtu,
                     .local_ip_be = local.ip_be,
                     .relay_port_be = local.port_be};
    SetWorkerIpv6(local, &wc);
    dp->workers_.push_back(std::make_unique<Worker>(wc));
  }
  absl::StatusOr<std::unique_ptr<IpcServer>> ipc =
      IpcServer::Listen(config.ipc_socket, config.ipc_group);
  if (!ipc.ok()) {
    return ipc.status();
  }
  MainLcoreContext mc{.local = local,
                      .tx_queue = static_cast<uint16_t>(n_workers),
                      .lcore_index = static_cast<uint32_t>(n_workers),
                      .counters = &dp->counters_[n_workers],
                      .from_workers = dp->to_main_,
                      .tx_handoff = dp->tx_handoff_,
                      .pool = dp->port_.pool,
                      .exception = dp->exception_.get(),
                      .capacity = config.capacity};
  dp->main_ =
      std::make_unique<MainLcore>(mc, dp->table_.get(), dp->neighbours_.get(), *std::move(ipc));
  dp->main_->set_all_counters(dp->counters_.get(), dp->n_counters_);
  dp->main_->set_rings(
      {dp->to_main_.rings[0], dp->to_main_.rings[1], dp->to_main_.rings[2], dp->to_exception_});
  if (absl::Status s = PublishTelemetry(dp->main_->stats_source()); !s.ok()) {
    return s;
  }
  dp->telemetry_published_ = true;
  char mac[32];
  absl::SNPrintF(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", local.mac[0], local.mac[1],
                 local.mac[2], local.mac[3], local.mac[4], local.mac[5]);
  std::string relay =
      absl::StrFormat("%s:%u", FormatIp(IpAddr::V4FromBe(local.ip_be)), config.relay_port);
  if (local.ipv6) {
    absl::StrAppendFormat(&relay, " and [%s]:%u (link-local %s)",
                          FormatIp(IpAddr::V6(local.ip6.data())), config.relay_port,
                          FormatIp(IpAddr::V6(local.ll6.data())));
  }
  DPRELAY_LOG_INFO("port %u (%s, driver %s, mac %s): %d worker(s), relay %s", port->port_id,
                   port->name, port->driver, mac, n_workers, relay);
  return dp;
}

absl::Status Dataplane::SetUpException(const LocalIdentity& local, const MainTx& nic_tx,
                                       LcoreCounters* main_counters) {
  if (config_.exception_iface.empty()) {
    return absl::OkStatus();
  }
  ExceptionPortConfig ec{.iface = config_.exception_iface,
                         .addr_be = config_.address.addr_be,
                         .prefix_len = config_.address.prefix_len};
  std::copy(local.mac.begin(), local.mac.end(), ec.mac);
  if (config_.address6) {
    ec.has_addr6 = true;
    std::copy(config_.address6->addr.begin(), config_.address6->addr.end(), ec.addr6);
    ec.prefix6_len = config_.address6->prefix_len;
  }
  absl::StatusOr<PortInfo> tap = BringUpExceptionPort(ec);
  if (!tap.ok()) {
    return tap.status();
  }
  exception_port_ = *tap;
  exception_up_ = true;
  to_exception_ =
      rte_ring_create("dprelay_to_exc", kToExceptionRingSize, rte_socket_id(), RING_F_SC_DEQ);
  if (to_exception_ == nullptr) {
    return absl::ResourceExhaustedError("cannot create the worker -> exception path ring");
  }
  exception_ = std::make_unique<ExceptionPath>(ExceptionPathContext{
      .tap_port_id = tap->port_id,
      .from_workers = to_exception_,
      .nic_tx = nic_tx,
      .counters = main_counters,
  });
  DPRELAY_LOG_INFO("exception interface %s (port %u): non-relay traffic for %s goes to the kernel",
                   config_.exception_iface, tap->port_id,
                   FormatIp(IpAddr::V4FromBe(config_.address.addr_be)));
  return absl::OkStatus();
}

Dataplane::~Dataplane() {
  if (telemetry_published_) {
    UnpublishTelemetry();  // before the counters and rings it reads go
  }
  main_.reset();
  exception_.reset();
  to_main_.Free();  // its mbufs go back to the NIC's pool before the pool goes
  // The NIC first: its TX queue may still hold the kernel's packets, from the tap's pool.
  if (port_up_) {
    ShutDownPort(port_);
  }
  if (exception_up_) {
    ShutDownPort(exception_port_);
  }
  rte_ring_free(tx_handoff_);
  rte_ring_free(to_exception_);
  if (pdump_) {
    rte_pdump_uninit();
  }
}

int Dataplane::WorkerLoop(void* arg) {
  auto* a = static_cast<WorkerArg*>(arg);
  while (!a->stop->load(std::memory_order_relaxed)) {
    if (a->worker->PollAndAccount() == 0 && a->idle_sleep_us != 0) {
      rte_delay_us_sleep(a->idle_sleep_us);
    }
  }
  return 0;
}

bool Dataplane::WorkersProgressed() {
  last_worker_cycles_.resize(workers_.size(), 0);
  bool all = true;
  for (size_t w = 0; w < workers_.size(); ++w) {
    // Worker blocks come first in counters_ (Create).
    const uint64_t cycles = counters_[w].worker_cycles.load(std::memory_order_relaxed);
    if (cycles == last_worker_cycles_[w]) {
      all = false;
    }
    last_worker_cycles_[w] = cycles;
  }
  return all;
}

namespace {

// How often the main lcore checks the workers and may send a watchdog keep-alive; WatchdogSec
// must be well above it (the packaged unit: 10 s).
constexpr uint64_t kHealthCheckNs = 500'000'000;

}  // namespace

void Dataplane::Run(const std::atomic<bool>& stop, net::ServiceNotifier* notify) {
  stop_ = &stop;
  std::vector<WorkerArg> args(workers_.size());
  bool interleaved = rte_lcore_count() == 1;
  if (!interleaved) {
    size_t w = 0;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
      if (w == workers_.size()) {
        break;
      }
      args[w] = WorkerArg{workers_[w].get(), &stop, config_.idle_sleep_us};
      rte_eal_remote_launch(&Dataplane::WorkerLoop, &args[w], lcore);
      ++w;
    }
  }
  uint64_t next_stats_ns = 0;
  uint64_t next_health_ns = MonotonicNs() + kHealthCheckNs;  // workers get a period to start
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t now_ns = MonotonicNs();
    unsigned work = main_->Poll(now_ns);
    if (exception_ != nullptr) {
      work += exception_->Poll();
    }
    if (interleaved) {
      work += workers_[0]->PollAndAccount();
    }
    if (notify != nullptr && now_ns >= next_health_ns) {
      // Housekeeping of the main lcore, never a worker's fast path: this loop turning is the
      // main lcore's health, the workers' counters theirs.
      next_health_ns = now_ns + kHealthCheckNs;
      const bool workers_ok = WorkersProgressed();
      if (workers_ok) {
        notify->Watchdog();
      } else {
        DPRELAY_LOG_ERROR("a worker lcore has not polled for %d ms; no watchdog keep-alive",
                          kHealthCheckNs / 1'000'000);
      }
      notify->Status(absl::StrCat("forwarding; control ",
                                  main_->control_connected() ? "connected" : "not connected",
                                  workers_ok ? "" : "; a worker is stuck"));
    }
    if (config_.stats_interval_s != 0 && now_ns >= next_stats_ns) {
      next_stats_ns = now_ns + uint64_t{config_.stats_interval_s} * 1'000'000'000;
      DPRELAY_LOG_INFO("%s", Report());
    }
    if (work == 0) {
      // The main lcore has no line-rate duty; a short sleep keeps it from burning a core.
      rte_delay_us_sleep(interleaved && config_.idle_sleep_us == 0 ? 1 : 50);
    }
  }
  rte_eal_mp_wait_lcore();
}

std::string Dataplane::Report() const {
  std::vector<std::string> parts;
  for (const auto& [name, value] : NamedCounters(main_->Counters())) {
    parts.push_back(absl::StrCat(name, "=", value));
  }
  std::string out = absl::StrCat("counters: ", absl::StrJoin(parts, " "));
  for (const SessionView& s : main_->sessions().List()) {
    auto leg = [&](int i) {
      return absl::StrFormat("%s %s packets=%u bytes=%u", ShortDisco(s.keys[i]),
                             s.bound[i].valid() ? FormatAddrPort(s.bound[i]) : "<no handshake>",
                             s.packets[i], s.bytes[i]);
    };
    absl::StrAppend(&out, "\nsession vni=", s.vni, ": ", leg(0), " <-> ", leg(1));
  }
  return out;
}

}  // namespace dprelay
