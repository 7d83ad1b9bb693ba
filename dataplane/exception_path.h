// The exception path (DESIGN.md §3, --exception_iface): packets for the relay address that are
// not relay traffic reach the kernel through a TAP device with the NIC's MAC, and what the
// kernel sends on it leaves through the NIC. Workers hand packets over on their own ring
// (multi-producer, single-consumer) so that kernel traffic and handshakes never crowd each
// other out; the main lcore runs Poll. No locks, no allocation: each mbuf is moved, never
// copied, and every one that is not delivered is freed and counted.
#pragma once

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/main_tx.h"

struct rte_mbuf;
struct rte_ring;

namespace dprelay {

struct ExceptionPathContext {
  uint16_t tap_port_id = 0;  // the exception interface (one queue pair)
  rte_ring* from_workers = nullptr;
  MainTx nic_tx;                      // the main lcore's way out of the NIC
  LcoreCounters* counters = nullptr;  // the main lcore's block
};

class ExceptionPath {
 public:
  explicit ExceptionPath(const ExceptionPathContext& ctx) : ctx_(ctx) {}

  // One pass, main lcore only: workers' packets to the kernel, the kernel's packets to the NIC.
  // Returns packets moved.
  unsigned Poll() noexcept;
  // Gives one packet the main lcore decided the kernel should see too (ARP replies to us).
  void ToKernel(rte_mbuf* m) noexcept { ToKernel(&m, 1); }

 private:
  void ToKernel(rte_mbuf** pkts, uint16_t n) noexcept;

  const ExceptionPathContext ctx_;
};

}  // namespace dprelay
