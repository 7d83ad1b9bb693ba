// Sizes and offsets of the headers the dataplane reads and writes, with the layout facts the
// fast path relies on proven at compile time (STYLE.md 12).
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstddef>
#include <cstdint>

namespace dprelay {

inline constexpr size_t kEthHdrLen = sizeof(rte_ether_hdr);
inline constexpr size_t kIpv4HdrLen = sizeof(rte_ipv4_hdr);  // IHL 5: we never emit options
inline constexpr size_t kUdpHdrLen = sizeof(rte_udp_hdr);
inline constexpr size_t kIpv6HdrLen = sizeof(rte_ipv6_hdr);  // extension headers are dropped
// Ethernet + IP + UDP: what a forwarded packet's header template replaces.
inline constexpr size_t kV4HeaderLen = kEthHdrLen + kIpv4HdrLen + kUdpHdrLen;
inline constexpr size_t kV6HeaderLen = kEthHdrLen + kIpv6HdrLen + kUdpHdrLen;
// What a packet grows by when an IPv4 leg is forwarded to an IPv6 one (and shrinks by back).
inline constexpr size_t kFamilyHeaderDelta = kV6HeaderLen - kV4HeaderLen;

static_assert(kEthHdrLen == 14 && kIpv4HdrLen == 20 && kUdpHdrLen == 8);
static_assert(kV4HeaderLen == 42 && kV6HeaderLen == 62 && kFamilyHeaderDelta == 20);
static_assert(offsetof(rte_ipv6_hdr, src_addr) == 8 && offsetof(rte_ipv6_hdr, dst_addr) == 24);
static_assert(offsetof(rte_ipv4_hdr, src_addr) == 12 && offsetof(rte_ipv4_hdr, dst_addr) == 16);

// Ones'-complement helpers (RFC 1071/1624). Sums are over 16-bit words in memory order; the
// arithmetic is byte-order independent as long as every operand is taken the same way.
inline uint16_t CsumFold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace dprelay
