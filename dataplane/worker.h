// A worker lcore: polls its own RX queue on each port, forwards relay data, hands control,
// ARP and ICMP to the main lcore through a ring (non-relay traffic for our address to the
// exception path through another), and transmits on its own TX queue only.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/neighbours.h"
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
  MainRings to_main;  // per class of work (main_rings.h)
  // Packets the main lcore wants sent, when the port has no TX queue of its own for it
  // (single-producer, single-consumer); nullptr otherwise.
  rte_ring* tx_from_main = nullptr;
  // Non-relay traffic for the relay address (TCP, other UDP ports) goes here, to the exception
  // interface (multi-producer, single-consumer); nullptr: it is dropped and counted instead.
  rte_ring* to_exception = nullptr;
  uint16_t mtu = 1500;         // the port's IP MTU: no packet leaves larger
  uint32_t local_ip_be = 0;    // the relay address (network order)
  uint16_t relay_port_be = 0;  // the relay UDP port (network order)
  // IPv6 (off: IPv6 frames are unsupported_ethertype drops). local_ip6 is the relay's IPv6
  // address; ICMPv6 to nd_destinations (our link-local address, the solicited-node groups of
  // both, all-nodes) also goes to the main lcore, for Neighbour Discovery.
  bool ipv6 = false;
  Ip6Bytes local_ip6{};
  std::array<Ip6Bytes, 4> nd_destinations{};
};

struct LocalIdentity;
// Fills ctx's IPv6 fields from the relay's identity (no-op without an IPv6 address).
void SetWorkerIpv6(const LocalIdentity& local, WorkerContext* ctx);

class Worker {
 public:
  explicit Worker(const WorkerContext& ctx);
  // One loop iteration: RX burst, classify, forward, TX. Returns packets received.
  uint16_t Poll() noexcept;
  // Poll, plus accounting of loop time for the busy ratio (worker_cycles, worker_busy_cycles):
  // what the worker lcore's loop calls. Published to the counters every kCycleFlush calls,
  // and at least every 100 ms of loop time: control's health check reads worker_cycles moving
  // as "the workers are alive", also when an idle sleep makes loops long.
  uint16_t PollAndAccount() noexcept;
  const WorkerContext& context() const { return ctx_; }

 private:
  void DrainMainTx() noexcept;

  static constexpr uint32_t kCycleFlush = 1024;  // loop iterations between counter updates
  uint64_t last_tsc_ = 0;
  uint64_t cycles_ = 0;
  uint64_t busy_cycles_ = 0;
  uint32_t loops_ = 0;
  const uint64_t flush_tsc_;  // 100 ms of TSC cycles

  const WorkerContext ctx_;
  LegStats* const leg_stats_;
};

}  // namespace dprelay
