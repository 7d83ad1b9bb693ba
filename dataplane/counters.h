// Per-lcore counters (STYLE.md 6): each block is written only by the lcore that owns it, with
// relaxed load+store (no locked read-modify-write), and summed by the main lcore when read.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/main_rings.h"
#include "proto/counter_catalogue.h"
#include "proto/drop_reasons.h"

namespace dprelay {

// Owner-only increment: a plain add published with a relaxed store.
inline void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Forwarding directions other than IPv4 -> IPv4, which the IPv4 fast path counts once per
// burst; these are counted per packet on the path that changes or keeps IPv6 headers.
enum class FamilyPath : uint8_t { kV4ToV6 = 0, kV6ToV4 = 1, kV6ToV6 = 2 };
inline constexpr size_t kNumFamilyPaths = 3;

struct alignas(64) LcoreCounters {
  std::atomic<uint64_t> rx_packets{0};
  std::atomic<uint64_t> tx_packets{0};
  // IPv4 -> IPv4 only; the other directions are in family_packets/family_bytes. Bytes are the
  // UDP payload incl. Geneve, as the reference counts them.
  std::atomic<uint64_t> forwarded_packets{0};
  std::atomic<uint64_t> forwarded_bytes{0};
  std::atomic<uint64_t> family_packets[kNumFamilyPaths] = {};
  std::atomic<uint64_t> family_bytes[kNumFamilyPaths] = {};
  std::atomic<uint64_t> to_main[kNumMainClasses] = {};  // handed to the main lcore, by class
  std::atomic<uint64_t> challenges_sent{0};
  std::atomic<uint64_t> legs_bound{0};
  std::atomic<uint64_t> arp_replies{0};
  std::atomic<uint64_t> arp_requests{0};
  std::atomic<uint64_t> icmp_echo_replies{0};  // ICMP and ICMPv6
  std::atomic<uint64_t> nd_advertisements{0};  // Neighbour Advertisements sent (answers)
  std::atomic<uint64_t> nd_solicitations{0};   // Neighbour Solicitations sent (resolution)
  std::atomic<uint64_t> mld_reports{0};        // MLDv2 reports sent for our groups
  // Exception interface: handed over by workers, given to the kernel, sent by the kernel.
  std::atomic<uint64_t> to_exception{0};
  std::atomic<uint64_t> exception_to_kernel{0};
  std::atomic<uint64_t> exception_from_kernel{0};
  // Worker loop time in TSC cycles: all of it, and the part spent on polls that found packets.
  // busy / total is the worker's busy ratio (published every kCycleFlush loop iterations).
  std::atomic<uint64_t> worker_cycles{0};
  std::atomic<uint64_t> worker_busy_cycles{0};
  // The control link's own (dataplane/ipc_server.h), published by the main lcore after each
  // IPC poll so that readers on other threads (DPDK telemetry) see them like the rest.
  std::atomic<uint64_t> ipc_queued_messages{0};
  std::atomic<uint64_t> ipc_pending_messages{0};
  std::atomic<uint64_t> ipc_queue_overflows{0};
  std::atomic<uint64_t> ipc_refused_peers{0};
  std::atomic<uint64_t> drops[kNumDropReasons] = {};

  void Drop(DropReason r, uint64_t n = 1) { Bump(drops[static_cast<size_t>(r)], n); }
};

// Sums the blocks into every counter of the catalogue (proto/counter_catalogue.h) and every
// drop reason. Only relaxed loads: safe on any thread while the owners keep counting (the main
// lcore for IPC stats and logs, DPDK's telemetry thread). Called off the fast path.
DataplaneCounterValues SumCounters(const LcoreCounters* blocks, size_t n);

}  // namespace dprelay
