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
// Ethernet + IPv4 + UDP: what a forwarded packet's header template replaces.
inline constexpr size_t kV4HeaderLen = kEthHdrLen + kIpv4HdrLen + kUdpHdrLen;

static_assert(kEthHdrLen == 14 && kIpv4HdrLen == 20 && kUdpHdrLen == 8);
static_assert(kV4HeaderLen == 42);
static_assert(offsetof(rte_ipv4_hdr, src_addr) == 12 && offsetof(rte_ipv4_hdr, dst_addr) == 16);

// Ones'-complement helpers (RFC 1071/1624). Sums are over 16-bit words in memory order; the
// arithmetic is byte-order independent as long as every operand is taken the same way.
inline uint16_t CsumFold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace dprelay
