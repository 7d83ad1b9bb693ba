// IPv4 neighbour table and next-hop choice, owned by the main lcore (no DPDK: unit-testable).
// Entries are learned from ARP packets addressed to us and refreshed by later ones; an entry
// older than the expiry is re-resolved, and a next hop with no entry is never guessed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace dprelay {

using MacAddr = std::array<uint8_t, 6>;

struct Ipv4Subnet {
  uint32_t addr_be = 0;  // our address on it (network order)
  uint8_t prefix_len = 32;
  uint32_t mask_be() const;
  bool Contains(uint32_t ip_be) const { return (ip_be & mask_be()) == (addr_be & mask_be()); }
};

class Neighbours {
 public:
  // A request for an unresolved address is resent at most this often.
  static constexpr uint64_t kRequestIntervalNs = 1'000'000'000;
  // Entries are trusted this long after they were last confirmed (Linux's default
  // base_reachable_time is 30 s; we refresh well within it by re-requesting).
  static constexpr uint64_t kReachableNs = 60ull * 1'000'000'000;
  // An entry nothing has confirmed for this long is forgotten: legs behind it go back to
  // "unresolved" rather than keep a MAC that may now belong to no one (or someone else).
  static constexpr uint64_t kExpireNs = 5 * kReachableNs;

  Neighbours(Ipv4Subnet subnet, std::optional<uint32_t> gateway_be)
      : subnet_(subnet), gateway_be_(gateway_be) {}

  // The address whose MAC a packet to dst must carry: dst on-link, else the gateway.
  std::optional<uint32_t> NextHop(uint32_t dst_be) const;
  std::optional<MacAddr> Lookup(uint32_t ip_be) const;
  // Records a mapping; returns true if it is new or changed (templates must be refreshed).
  bool Learn(uint32_t ip_be, const MacAddr& mac, uint64_t now_ns);
  // True if a request for ip should go out now (not resolved, or stale, and not asked lately).
  bool ShouldRequest(uint32_t ip_be, uint64_t now_ns);
  // Forgets entries unconfirmed for kExpireNs; returns their addresses.
  std::vector<uint32_t> Expire(uint64_t now_ns);

  const Ipv4Subnet& subnet() const { return subnet_; }

 private:
  struct Entry {
    MacAddr mac{};
    bool resolved = false;
    uint64_t confirmed_ns = 0;
    uint64_t requested_ns = 0;
  };
  Ipv4Subnet subnet_;
  std::optional<uint32_t> gateway_be_;
  absl::flat_hash_map<uint32_t, Entry> entries_;
};

}  // namespace dprelay
