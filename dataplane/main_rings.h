// The rings from the workers to the main lcore, one per class of work (docs/SECURITY.md "Main
// lcore protected by class"): handshakes, neighbours (ARP, Neighbour Discovery) and other ICMP.
// Each has its own capacity and its own budget per main-lcore poll, so a flood of one class
// (ICMP echo, ARP) fills only its own ring and cannot starve binds. Multi-producer (workers),
// single-consumer (the main lcore).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/drop_reasons.h"

struct rte_ring;

namespace dprelay {

enum class MainClass : uint8_t { kHandshake = 0, kNeighbour = 1, kIcmp = 2 };
inline constexpr size_t kNumMainClasses = 3;

struct MainClassInfo {
  const char* name;      // ring name suffix: <prefix>_<name>
  unsigned ring_size;    // slots (a power of two; one is kept empty by rte_ring)
  unsigned poll_budget;  // packets the main lcore takes from it per poll
  DropReason overflow;   // counted when a worker finds it full
};

// Handshakes get the room: a Bind costs a box open, and a burst of legitimate binds (control
// reinstalling thousands of sessions' clients) must fit while the main lcore works through it.
inline constexpr std::array<MainClassInfo, kNumMainClasses> kMainClasses = {{
    {"handshake", 2048, 32, DropReason::kHandshakeRingFull},
    {"neighbour", 512, 32, DropReason::kNeighbourRingFull},
    {"icmp", 256, 8, DropReason::kIcmpRingFull},
}};

inline constexpr const MainClassInfo& InfoOf(MainClass c) {
  return kMainClasses[static_cast<size_t>(c)];
}

// mbufs the rings can hold at once: the pool keeps this many beyond what RX and TX
// descriptors hold, so full rings never starve RX refill.
inline constexpr unsigned MainRingsCapacity() {
  unsigned total = 0;
  for (const MainClassInfo& c : kMainClasses) {
    total += c.ring_size;
  }
  return total;
}

struct MainRings {
  std::array<rte_ring*, kNumMainClasses> rings{};

  rte_ring* operator[](MainClass c) const { return rings[static_cast<size_t>(c)]; }
  // Creates the three rings, named <prefix>_<class>. Error names the ring.
  static absl::StatusOr<MainRings> Create(const std::string& prefix);
  void Free();
};

}  // namespace dprelay
