#include "dataplane/main_tx.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace dprelay {

void MainTx::Send(rte_mbuf** pkts, uint16_t n) const noexcept {
  uint16_t sent;
  if (handoff != nullptr) {
    // Worker 0 transmits them and counts them.
    sent = static_cast<uint16_t>(
        rte_ring_sp_enqueue_burst(handoff, reinterpret_cast<void**>(pkts), n, nullptr));
  } else {
    sent = rte_eth_tx_burst(port_id, queue, pkts, n);
    Bump(counters->tx_packets, sent);
  }
  if (sent < n) {
    counters->Drop(DropReason::kTxFull, n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
}

}  // namespace dprelay
