// IP addresses and IP:port pairs of either family, their text forms, the 16-byte
// (v4-mapped) wire form used by disco, and conversion to and from sockaddr.
#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace dprelay {

enum class IpFamily : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

struct IpAddr {
  IpFamily family = IpFamily::kNone;
  // Network byte order. IPv4 uses bytes[0..3]; the rest stays zero so that
  // comparison and hashing of the whole struct are well defined.
  std::array<uint8_t, 16> bytes{};

  static IpAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // From a network-order 32-bit value as it sits in an IPv4 header.
  static IpAddr V4FromBe(uint32_t be);
  static IpAddr V6(const uint8_t bytes16[16]);
  bool valid() const { return family != IpFamily::kNone; }
  bool is_v4() const { return family == IpFamily::kV4; }
  bool is_v6() const { return family == IpFamily::kV6; }
  // Network-order 32-bit value; only for IPv4.
  uint32_t v4_be() const;
  // ::ffff:a.b.c.d as the IPv4 address a.b.c.d; anything else unchanged. Compare and key
  // addresses in this form: a dual-stack socket reports IPv4 peers v4-mapped.
  IpAddr Unmapped() const;
  // An IPv4 address as ::ffff:a.b.c.d (for a dual-stack IPv6 socket); anything else unchanged.
  IpAddr V4Mapped() const;

  auto operator<=>(const IpAddr&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpAddr& a) {
    return H::combine(std::move(h), a.family, a.bytes);
  }
};

struct AddrPort {
  IpAddr ip;
  uint16_t port = 0;  // host byte order

  bool valid() const { return ip.valid(); }
  auto operator<=>(const AddrPort&) const = default;
};

absl::StatusOr<IpAddr> ParseIp(std::string_view text);
// "1.2.3.4:567" or "[2001:db8::1]:567".
absl::StatusOr<AddrPort> ParseAddrPort(std::string_view text);
std::string FormatIp(const IpAddr& ip);
std::string FormatAddrPort(const AddrPort& ap);

// Disco's 16-byte form: IPv4 written v4-mapped (::ffff:a.b.c.d), unmapped on read.
void WriteIp16(const IpAddr& ip, uint8_t out[16]);
IpAddr ReadIp16(const uint8_t in[16]);

// sockaddr_in / sockaddr_in6 conversion for kernel sockets.
socklen_t ToSockaddr(const AddrPort& ap, sockaddr_storage* out);
absl::StatusOr<AddrPort> FromSockaddr(const sockaddr* sa, socklen_t len);

}  // namespace dprelay
