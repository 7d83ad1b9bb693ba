// Source addresses as policy sees them: one canonical form per host, and CIDR prefixes.
//
// Canonicalisation (applied to request sources and to every prefix in the policy file, before
// any rule is matched):
//   - IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports) -> IPv4 a.b.c.d;
//   - IPv6 loopback ::1 -> 127.0.0.1, so that one rule covers a local client of either family;
//   - the unspecified addresses (0.0.0.0, ::) are not a source at all: IsUsableSource() is
//     false for them and the allocator refuses such requests as `bad_source`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "proto/addr.h"

namespace dprelay::control {

IpAddr CanonicalIp(const IpAddr& ip);
// False for no address and for 0.0.0.0 / :: (after canonicalisation).
bool IsUsableSource(const IpAddr& canonical);

// A hashable form of an address, for maps keyed by source.
using IpKey = std::pair<uint8_t, std::array<uint8_t, 16>>;
inline IpKey KeyOf(const IpAddr& ip) { return {static_cast<uint8_t>(ip.family), ip.bytes}; }

struct IpPrefix {
  IpAddr base;         // canonical, host bits zero
  uint8_t length = 0;  // 0..32 for IPv4, 0..128 for IPv6

  bool Contains(const IpAddr& canonical) const;
  auto operator<=>(const IpPrefix&) const = default;
};

// "203.0.113.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits must be zero;
// a v4-mapped prefix of length >= 96 becomes the IPv4 prefix of length - 96.
absl::StatusOr<IpPrefix> ParsePrefix(std::string_view text);
std::string FormatPrefix(const IpPrefix& prefix);

}  // namespace dprelay::control
