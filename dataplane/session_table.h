// The VNI-indexed session table shared by every lcore (DESIGN.md §3).
//
// Concurrency contract:
//   - slots_[vni] is written only by the main lcore, inside rte_seqcount write sections;
//     workers read it lock-free and retry when the sequence moved, so no worker ever acts on
//     a torn leg.
//   - leg stats blocks are per lcore: written only by their lcore (relaxed load+store), read by
//     the main lcore for expiry and listings. There is no last-seen stamp: the main lcore
//     notices a leg's packet count moving at its once-a-second housekeeping.
//   - v6_legs_[vni * 2 + leg] (only when the relay has an IPv6 address) is part of slot vni:
//     written by the main lcore inside the same write section, read inside the same read
//     section, so the seqcount covers it too.
//   - capacity_ and the arrays' addresses are immutable after construction.
#pragma once

#include <rte_seqcount.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/neighbours.h"
#include "dataplane/packet_headers.h"

namespace dprelay {

// Whether a leg's header template can be sent: its next-hop MAC is known, being resolved, or
// there is no next hop at all (off-link client and no gateway).
enum class NextHopState : uint8_t { kUnresolved = 0, kResolved = 1, kNoRoute = 2 };

// LegFwd::bound: 0 until a valid Answer; then the family of the client's bound address.
inline constexpr uint8_t kLegUnbound = 0;
inline constexpr uint8_t kLegV4 = 4;
inline constexpr uint8_t kLegV6 = 6;

// What forwarding to, and matching packets from, one bound leg needs, precomputed at bind.
// For an IPv6 leg, addr_be, port_be, l4_sum and hdr stay zero: its address and template are
// in the session's LegFwd6 record, which IPv4 traffic never touches.
struct LegFwd {
  uint32_t addr_be = 0;         // the client's bound IPv4 address (network order)
  uint16_t port_be = 0;         // the client's bound UDP port (network order)
  uint8_t bound = kLegUnbound;  // kLegV4 / kLegV6: packets from the bound address are accepted
  NextHopState next_hop = NextHopState::kUnresolved;  // kResolved: hdr is complete
  uint16_t ip_sum = 0;  // folded sum of hdr's IPv4 header with total length and checksum 0
  // Folded ones'-complement sum of addr_be and port_be. Between two IPv4 legs, the relay's
  // own address and port only change places (the packet's destination becomes the source),
  // so a forwarded packet's UDP checksum changes by to.addr_port_sum - from.addr_port_sum.
  uint16_t addr_port_sum = 0;
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
// The fast path reads addr_be, port_be, bound and next_hop as one 64-bit word (LegMatchWord).
static_assert(offsetof(LegFwd, addr_be) == 0 && offsetof(LegFwd, port_be) == 4 &&
              offsetof(LegFwd, bound) == 6 && offsetof(LegFwd, next_hop) == 7);

// The IPv6 part of a leg bound over IPv6: match fields and the Ethernet + IPv6 + UDP template.
struct alignas(64) LegFwd6 {
  Ip6Bytes addr{};       // the client's bound IPv6 address
  uint16_t port_be = 0;  // the client's bound UDP port (network order)
  // Ones'-complement sum (32-bit words, end-around carry) of hdr's addresses and ports.
  uint32_t l4_sum = 0;
  uint8_t hdr[kV6HeaderLen] = {};
};
static_assert(sizeof(LegFwd6) == 128);

// Per-lcore, per-leg traffic counters, indexed by vni * 2 + leg.
struct LegStats {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
};
static_assert(sizeof(LegStats) == 16, "16 bytes per leg per lcore");

class SessionTable {
 public:
  // capacity = largest usable VNI; n_lcores = number of per-lcore stats blocks; ipv6 = room
  // for IPv6 legs (128 bytes per leg, only allocated when the relay has an IPv6 address).
  SessionTable(uint32_t capacity, uint32_t n_lcores, bool ipv6 = false);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  uint32_t capacity() const { return capacity_; }
  uint32_t lcores() const { return n_lcores_; }

  // Reader side (any lcore). vni must be in 1..capacity.
  const SessionSlot& slot(uint32_t vni) const { return slots_[vni]; }
  const SessionSlot* slots() const { return slots_; }
  // Only for legs with bound == kLegV6 (which exist only when the table has IPv6 room).
  const LegFwd6& leg6(uint32_t vni, int leg) const { return v6_legs_[size_t{vni} * 2 + leg]; }
  bool ipv6() const { return v6_legs_ != nullptr; }
  LegStats* stats_block(uint32_t lcore) { return stats_[lcore].get(); }

  // Writer side: main lcore only.
  // v6_n is required when leg n is an IPv6 leg and ignored otherwise.
  void Publish(uint32_t vni, bool live, const LegFwd& leg0, const LegFwd& leg1,
               const LegFwd6* v6_0 = nullptr, const LegFwd6* v6_1 = nullptr);
  void PublishLeg(uint32_t vni, int leg, const LegFwd& fwd, const LegFwd6* v6 = nullptr);
  void Clear(uint32_t vni);
  // Sum of a leg's counters over every lcore.
  void ReadLegStats(uint32_t vni, int leg, uint64_t* packets, uint64_t* bytes) const;
  // Zeroes a session's counters on every lcore (a new session; only while it is not live).
  void ResetLegStats(uint32_t vni);
  // Heap or hugepage bytes held per VNI of capacity: the slot, the leg counters of every lcore
  // and, with IPv6, the side records.
  size_t BytesPerVni() const;

 private:
  const uint32_t capacity_;
  const uint32_t n_lcores_;
  // Writes leg `leg` of slot s (inside its write section).
  void WriteLeg(SessionSlot& s, uint32_t vni, int leg, const LegFwd& fwd, const LegFwd6* v6);

  SessionSlot* slots_;          // capacity_ + 1 entries, cache-line aligned; [0] never live
  LegFwd6* v6_legs_ = nullptr;  // (capacity_ + 1) * 2 entries, or none
  bool from_heap_ = false;
  bool v6_from_heap_ = false;
  std::unique_ptr<std::unique_ptr<LegStats[]>[]> stats_;
};

}  // namespace dprelay
