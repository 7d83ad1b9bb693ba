// The benchmarks' relay: the real worker and main lcore on a ring-backed port (net_ring), with
// a session table and next-hop table as dprelay-dataplane sets them up, and the two rings a
// peer emulator uses (to the relay, from the relay). One per process.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/local_identity.h"
#include "dataplane/main_lcore.h"
#include "dataplane/worker.h"
#include "drivers/port.h"

struct rte_mempool;
struct rte_ring;

namespace dprelay::perf {

inline constexpr uint16_t kBenchRelayPort = 40000;

struct RingRelay {
  // `capacity` sessions; `lcores` counter blocks (worker, main lcore).
  static absl::StatusOr<std::unique_ptr<RingRelay>> Create(uint32_t capacity);

  // Runs worker and main lcore until the emulator's ring and the main lcore's queues are
  // empty (single-threaded use).
  void Pump();

  rte_ring* to_relay = nullptr;    // the emulator enqueues frames for the relay here
  rte_ring* from_relay = nullptr;  // and dequeues what the relay sent
  rte_mempool* emulator_pool = nullptr;
  MainRings to_main;
  PortInfo port;
  uint32_t relay_ip_be = 0;
  uint32_t gateway_ip_be = 0;
  std::unique_ptr<SessionTable> table;
  std::unique_ptr<Neighbours> neighbours;
  LcoreCounters counters[2];  // [0] worker, [1] main lcore
  std::unique_ptr<Worker> worker;
  std::unique_ptr<MainLcore> main;
};

}  // namespace dprelay::perf
