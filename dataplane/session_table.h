// The VNI-indexed session table shared by every lcore (DESIGN.md §3).
//
// Concurrency contract:
//   - slots_[vni] is written only by the main lcore, inside rte_seqcount write sections;
//     workers read it lock-free and retry when the sequence moved, so no worker ever acts on
//     a torn leg.
//   - leg stats blocks are per lcore: written only by their lcore (relaxed load+store), read by
//     the main lcore for expiry and listings.
//   - capacity_ and the arrays' addresses are immutable after construction.
#pragma once

#include <rte_seqcount.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/packet_headers.h"

namespace dprelay {

// Whether a leg's header template can be sent: its next-hop MAC is known, being resolved, or
// there is no next hop at all (off-link client and no gateway).
enum class NextHopState : uint8_t { kUnresolved = 0, kResolved = 1, kNoRoute = 2 };

// What forwarding to, and matching packets from, one bound leg needs, precomputed at bind.
struct LegFwd {
  uint32_t addr_be = 0;  // the client's bound IPv4 address (network order)
  uint16_t port_be = 0;  // the client's bound UDP port (network order)
  uint8_t bound = 0;     // 1 after a valid Answer: packets from addr:port are accepted
  NextHopState next_hop = NextHopState::kUnresolved;  // kResolved: hdr is complete
  uint16_t ip_sum = 0;  // folded sum of hdr's IPv4 header with total length and checksum 0
  // Ones'-complement sum, in 32-bit words with end-around carry, of hdr's IPv4 source,
  // destination and UDP ports: the template's side of the incremental UDP checksum update.
  uint32_t l4_sum = 0;
  uint8_t hdr[kV4HeaderLen] = {};  // Ethernet + IPv4 + UDP towards the client
};

struct alignas(64) SessionSlot {
  rte_seqcount_t seq;
  uint8_t live = 0;  // installed and not expired
  LegFwd leg[2];
};
static_assert(sizeof(SessionSlot) == 128, "a session slot should span exactly two cache lines");

// Per-lcore, per-leg traffic counters, indexed by vni * 2 + leg.
struct LegStats {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> last_seen_tsc{0};
};

class SessionTable {
 public:
  // capacity = largest usable VNI; n_lcores = number of per-lcore stats blocks.
  SessionTable(uint32_t capacity, uint32_t n_lcores);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  uint32_t capacity() const { return capacity_; }
  uint32_t lcores() const { return n_lcores_; }

  // Reader side (any lcore). vni must be in 1..capacity.
  const SessionSlot& slot(uint32_t vni) const { return slots_[vni]; }
  LegStats* stats_block(uint32_t lcore) { return stats_[lcore].get(); }

  // Writer side: main lcore only.
  void Publish(uint32_t vni, bool live, const LegFwd& leg0, const LegFwd& leg1);
  void PublishLeg(uint32_t vni, int leg, const LegFwd& fwd);
  void Clear(uint32_t vni);
  // Sum of a leg's counters over every lcore; resets them when reset is set (new session).
  void ReadLegStats(uint32_t vni, int leg, uint64_t* packets, uint64_t* bytes,
                    uint64_t* last_seen_tsc) const;
  void ResetLegStats(uint32_t vni);

 private:
  const uint32_t capacity_;
  const uint32_t n_lcores_;
  SessionSlot* slots_;  // capacity_ + 1 entries, cache-line aligned; [0] never live
  bool from_heap_ = false;
  std::unique_ptr<std::unique_ptr<LegStats[]>[]> stats_;
};

}  // namespace dprelay
