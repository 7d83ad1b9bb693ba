// A worker lcore: polls its own RX queue on each port, forwards relay data, hands control,
// ARP and ICMP to the main lcore through a ring (non-relay traffic for our address to the
// exception path through another), and transmits on its own TX queue only.
#pragma once

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/session_table.h"

struct rte_mbuf;
struct rte_ring;

namespace dprelay {

inline constexpr uint16_t kBurstSize = 32;

// Immutable after construction; everything a worker needs, passed explicitly.
struct WorkerContext {
  uint16_t port_id = 0;
  uint16_t rx_queue = 0;
  uint16_t tx_queue = 0;
  uint32_t lcore_index = 0;  // selects this worker's counter and leg-stats blocks
  SessionTable* table = nullptr;
  LcoreCounters* counters = nullptr;
  rte_ring* to_main = nullptr;  // multi-producer, single-consumer
  // Packets the main lcore wants sent, when the port has no TX queue of its own for it
  // (single-producer, single-consumer); nullptr otherwise.
  rte_ring* tx_from_main = nullptr;
  // Non-relay traffic for the relay address (TCP, other UDP ports) goes here, to the exception
  // interface (multi-producer, single-consumer); nullptr: it is dropped and counted instead.
  rte_ring* to_exception = nullptr;
  uint32_t local_ip_be = 0;    // the relay address (network order)
  uint16_t relay_port_be = 0;  // the relay UDP port (network order)
};

class Worker {
 public:
  explicit Worker(const WorkerContext& ctx);
  // One loop iteration: RX burst, classify, forward, TX. Returns packets received.
  uint16_t Poll(uint64_t now_tsc) noexcept;
  // Poll, plus accounting of loop time for the busy ratio (worker_cycles, worker_busy_cycles):
  // what the worker lcore's loop calls. Published to the counters every kCycleFlush calls.
  uint16_t PollAndAccount() noexcept;
  const WorkerContext& context() const { return ctx_; }

 private:
  void DrainMainTx() noexcept;
  void PrefetchSession(const rte_mbuf* m) const noexcept;

  static constexpr uint32_t kCycleFlush = 1024;  // loop iterations between counter updates
  uint64_t last_tsc_ = 0;
  uint64_t cycles_ = 0;
  uint64_t busy_cycles_ = 0;
  uint32_t loops_ = 0;

  const WorkerContext ctx_;
  LegStats* const leg_stats_;
};

}  // namespace dprelay
