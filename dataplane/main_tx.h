// How the main lcore puts packets on the wire: its own TX queue, or, when the port has no
// queue left for it, the single-producer ring that worker 0 drains (docs/DECISIONS.md).
// Shared by the main lcore's replies and the exception path's kernel traffic.
#pragma once

#include <cstdint>

#include "dataplane/counters.h"

struct rte_mbuf;
struct rte_ring;

namespace dprelay {

struct MainTx {
  uint16_t port_id = 0;
  uint16_t queue = 0;
  rte_ring* handoff = nullptr;  // set when the port has no TX queue for the main lcore
  LcoreCounters* counters = nullptr;

  // Consumes every mbuf: sent (tx_packets, or counted by worker 0 for the handoff) or freed and
  // counted as tx_full. Main lcore only.
  void Send(rte_mbuf** pkts, uint16_t n) const noexcept;
};

}  // namespace dprelay
