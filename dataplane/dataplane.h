// The whole dataplane process minus flag parsing: port, session table, workers, main lcore.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/config.h"
#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/main_lcore.h"
#include "dataplane/session_table.h"
#include "dataplane/worker.h"
#include "drivers/port.h"
#include "net/service_notify.h"

namespace dprelay {

class Dataplane {
 public:
  // EAL must be initialised. Errors name the port, flag or socket that failed.
  static absl::StatusOr<std::unique_ptr<Dataplane>> Create(const DataplaneConfig& config);
  ~Dataplane();

  // Runs workers on every worker lcore (or interleaved on the main lcore when EAL gave only
  // one) until stop becomes true. `notify` (may be null) hears, from the main lcore's
  // housekeeping, WATCHDOG=1 while every worker keeps polling, and a STATUS= line when control
  // connects or goes.
  void Run(const std::atomic<bool>& stop, net::ServiceNotifier* notify = nullptr);
  // Counters and sessions, one line each, for the log at exit.
  std::string Report() const;

 private:
  explicit Dataplane(const DataplaneConfig& config) : config_(config) {}
  static int WorkerLoop(void* arg);
  // True if every worker lcore's loop turned since the last call (its worker_cycles counter,
  // published every few microseconds of looping, moved on); a worker stuck in a loop or
  // blocked stops this, and with it the watchdog keep-alives.
  bool WorkersProgressed();
  std::vector<uint64_t> last_worker_cycles_;
  // The tap, its ring and the path that moves packets between them and the NIC; nothing when
  // --exception_iface is empty.
  absl::Status SetUpException(const LocalIdentity& local, const MainTx& nic_tx,
                              LcoreCounters* main_counters);

  const DataplaneConfig config_;
  PortInfo port_;
  bool port_up_ = false;
  MainRings to_main_;
  rte_ring* tx_handoff_ = nullptr;
  // The exception interface (--exception_iface), when configured.
  PortInfo exception_port_;
  bool exception_up_ = false;
  rte_ring* to_exception_ = nullptr;
  std::unique_ptr<ExceptionPath> exception_;
  std::unique_ptr<SessionTable> table_;
  std::unique_ptr<Neighbours> neighbours_;
  std::unique_ptr<LcoreCounters[]> counters_;  // workers first, main lcore last
  size_t n_counters_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<MainLcore> main_;
  const std::atomic<bool>* stop_ = nullptr;
  bool telemetry_published_ = false;
  bool pdump_ = false;  // rte_pdump_init done
};

}  // namespace dprelay
