// Neighbour table and next-hop choice for both families, owned by the main lcore (no DPDK:
// unit-testable). Entries are learned from ARP and Neighbour Discovery packets addressed to us
// and refreshed by later ones; an entry older than the expiry is re-resolved, and a next hop
// with no entry is never guessed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proto/addr.h"

namespace dprelay {

using MacAddr = std::array<uint8_t, 6>;
using Ip6Bytes = std::array<uint8_t, 16>;

struct Ipv4Subnet {
  uint32_t addr_be = 0;  // our address on it (network order)
  uint8_t prefix_len = 32;
  uint32_t mask_be() const;
  bool Contains(uint32_t ip_be) const { return (ip_be & mask_be()) == (addr_be & mask_be()); }
};

struct Ipv6Subnet {
  Ip6Bytes addr{};  // our address on it
  uint8_t prefix_len = 128;
  bool Contains(const Ip6Bytes& ip) const;
};

// ff02::1, the all-nodes group (RFC 4291 2.7.1).
inline constexpr Ip6Bytes kIpv6AllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

// fe80::/10: always on-link (RFC 4291), the usual form of an IPv6 gateway.
bool IsIpv6LinkLocal(const Ip6Bytes& ip);
// The EUI-64 link-local address of a MAC (RFC 4291 App. A): what the relay answers Neighbour
// Solicitations for besides its configured address, and the source of its solicitations for
// link-local next hops.
Ip6Bytes LinkLocalFromMac(const MacAddr& mac);
// ff02::1:ffXX:XXXX, where a Neighbour Solicitation for `target` is sent (RFC 4291 2.7.1).
Ip6Bytes SolicitedNodeMulticast(const Ip6Bytes& target);

// What decides next hops: the connected prefixes and, per family, the gateway for the rest.
struct NextHopConfig {
  Ipv4Subnet v4;
  std::optional<uint32_t> gateway4;  // network order, inside v4
  std::optional<Ipv6Subnet> v6;
  std::optional<Ip6Bytes> gateway6;  // link-local or inside v6
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
  // A learned MAC is not replaced by a different one within this long of its last change (as
  // Linux's locktime): flapping answers, or an on-link host spoofing, cannot make the main
  // lcore republish the legs behind a next hop more than once a second.
  static constexpr uint64_t kLockNs = 1'000'000'000;
  // Entries at most (about 6 MiB). When full, addresses that are no one's next hop are not
  // learned: hosts on the link cannot grow the table without bound.
  static constexpr size_t kMaxEntries = 65536;

  explicit Neighbours(const NextHopConfig& config) : config_(config) {}
  // IPv4 only (tests, benchmarks).
  Neighbours(Ipv4Subnet subnet, std::optional<uint32_t> gateway_be)
      : config_{.v4 = subnet, .gateway4 = gateway_be} {}

  // The address whose MAC a packet to dst must carry: dst on-link, else the family's gateway.
  std::optional<IpAddr> NextHop(const IpAddr& dst) const;
  // Whether ip is on one of our links: only such neighbours are learned.
  bool OnLink(const IpAddr& ip) const;
  std::optional<MacAddr> Lookup(const IpAddr& ip) const;
  // Whether ip has an entry, resolved or being resolved (we asked for it).
  bool Known(const IpAddr& ip) const { return entries_.contains(ip); }
  // Records a mapping; returns true if it is new or changed (templates must be refreshed).
  // override = false (an IPv6 advertisement without the O flag, RFC 4861 7.2.5) never
  // replaces a different known MAC, and neither does one within kLockNs of the last change.
  // in_use: ip is a next hop some leg needs, learned even when the table is full.
  bool Learn(const IpAddr& ip, const MacAddr& mac, uint64_t now_ns, bool override = true,
             bool in_use = false);
  // True if a request for ip should go out now (not resolved, or stale, and not asked lately).
  bool ShouldRequest(const IpAddr& ip, uint64_t now_ns);
  // Forgets entries unconfirmed for kExpireNs (and unresolved ones nothing asked for in that
  // long); returns the addresses of the resolved ones forgotten.
  std::vector<IpAddr> Expire(uint64_t now_ns);
  size_t size() const { return entries_.size(); }

  const NextHopConfig& config() const { return config_; }

 private:
  struct Entry {
    MacAddr mac{};
    bool resolved = false;
    uint64_t confirmed_ns = 0;
    uint64_t requested_ns = 0;
    uint64_t changed_ns = 0;  // when mac was last set to a different value
  };
  NextHopConfig config_;
  absl::flat_hash_map<IpAddr, Entry> entries_;
};

}  // namespace dprelay
