// Builds Ethernet/IPv4/UDP frames for tests (STYLE.md 16) and checks checksums with an
// independent, straightforward computation (not the dataplane's incremental one).
#pragma once

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
  uint16_t frag = 0;  // flags+offset, host order
  uint8_t protocol = 17;
  bool udp_checksum = true;
  std::vector<uint8_t> payload;

  std::vector<uint8_t> Build() const;
};

// Full RFC 1071 checksums over a frame's IPv4 header and UDP datagram (pseudo-header
// included). True when both verify (a zero UDP checksum counts as "none" and verifies).
bool ChecksumsValid(const std::vector<uint8_t>& frame);

uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
std::vector<uint8_t> Hex(const std::string& hex);

}  // namespace dprelay::testing
