// Builds Ethernet/IPv4/UDP and Ethernet/IPv6/UDP (or ICMPv6) frames for tests (STYLE.md 16)
// and checks checksums with an independent, straightforward computation (not the dataplane's
// incremental one).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dprelay::testing {

struct Frame {
  uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  uint32_t src_ip = 0;  // host order
  uint32_t dst_ip = 0;  // host order
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ttl = 64;
  uint8_t ihl = 5;
  uint16_t frag = 0;      // flags+offset, host order
  uint8_t protocol = 17;  // IPv4 protocol / IPv6 next header
  bool udp_checksum = true;
  // IPv6 instead of IPv4: ihl and frag are ignored, ttl is the hop limit.
  bool ipv6 = false;
  std::array<uint8_t, 16> src_ip6{};
  std::array<uint8_t, 16> dst_ip6{};
  // The payload is the whole L4 message (no UDP header is written). For ICMP and ICMPv6 its
  // checksum (bytes 2-3) is filled in.
  bool raw_l4 = false;
  std::vector<uint8_t> payload;

  std::vector<uint8_t> Build() const;
};

// Full RFC 1071 checksums over a frame's IPv4 header and UDP datagram (pseudo-header
// included), or an IPv6 frame's UDP or ICMPv6 message. True when all verify (a zero UDP
// checksum counts as "none" and verifies over IPv4; over IPv6 it is invalid).
bool ChecksumsValid(const std::vector<uint8_t>& frame);

uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
std::array<uint8_t, 16> Ip6(const char* text);
std::vector<uint8_t> Hex(const std::string& hex);

}  // namespace dprelay::testing
