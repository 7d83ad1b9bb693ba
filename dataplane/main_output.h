// What the main lcore's rooms (handshake, neighbour responder, ICMP) share to put packets out:
// its TX path, its pool for frames it originates, the exception interface, its counters, and
// applying a frame handler's verdict to an mbuf. Main lcore only.
#pragma once

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/frame_handlers.h"
#include "dataplane/main_tx.h"

struct rte_mbuf;
struct rte_mempool;

namespace dprelay {

struct MainOutput {
  MainTx tx;
  rte_mempool* pool = nullptr;         // for frames the main lcore originates
  ExceptionPath* exception = nullptr;  // the kernel's interface, if any
  LcoreCounters* counters = nullptr;

  void Transmit(rte_mbuf* m) const { tx.Send(&m, 1); }
  void Drop(rte_mbuf* m, DropReason r) const;
  // A new frame of `len` bytes from the pool; nullptr, counted as no_mbuf, when it is empty.
  rte_mbuf* NewFrame(uint16_t len) const;
  // The verdict's action on m, which it consumes: a reply is sized to reply_len and sent
  // (true is returned, for the caller's reply counter); the kernel's frames go to the exception
  // interface (or are dropped, or freed, as the verdict says); drops are counted.
  bool Apply(rte_mbuf* m, const FrameVerdict& v) const;
};

// The mbuf's first segment as FrameBytes the pure handlers may rewrite (capacity: its tailroom).
FrameBytes FrameOf(rte_mbuf* m);

}  // namespace dprelay
