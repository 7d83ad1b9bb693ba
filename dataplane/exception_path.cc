#include "dataplane/exception_path.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace dprelay {
namespace {

// Per pass and direction; the kernel's traffic is light and the main lcore loops often.
constexpr uint16_t kExceptionBurst = 32;

}  // namespace

void ExceptionPath::ToKernel(rte_mbuf** pkts, uint16_t n) noexcept {
  const uint16_t sent = rte_eth_tx_burst(ctx_.tap_port_id, 0, pkts, n);
  Bump(ctx_.counters->exception_to_kernel, sent);
  if (sent < n) {
    ctx_.counters->Drop(DropReason::kExceptionTxFull, n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
}

unsigned ExceptionPath::Poll() noexcept {
  rte_mbuf* pkts[kExceptionBurst];
  const uint16_t in = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
      ctx_.from_workers, reinterpret_cast<void**>(pkts), kExceptionBurst, nullptr));
  if (in != 0) {
    ToKernel(pkts, in);
  }
  // The kernel owns the tap's side of the address: its frames (TCP answers, its own ARP
  // requests) already carry the NIC's MAC and go out as they are.
  const uint16_t out = rte_eth_rx_burst(ctx_.tap_port_id, 0, pkts, kExceptionBurst);
  if (out != 0) {
    Bump(ctx_.counters->exception_from_kernel, out);
    ctx_.nic_tx.Send(pkts, out);
  }
  return in + out;
}

}  // namespace dprelay
