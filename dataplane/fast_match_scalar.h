// Portable variant of the fast-path header test (see fast_match.h), for targets without SSE2.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/packet_headers.h"

namespace dprelay {

class FastMatch {
 public:
  FastMatch(uint32_t local_ip_be, uint16_t relay_port_be)
      : local_ip_be_(local_ip_be), relay_port_be_(relay_port_be) {}

  bool Matches(const uint8_t* p, uint32_t len) const {
    if (len < kV4HeaderLen + 8 /* Geneve */) {
      return false;
    }
    auto be16 = [&](size_t at) { return static_cast<uint32_t>(p[at] << 8 | p[at + 1]); };
    uint32_t dst;
    std::memcpy(&dst, p + kEthHdrLen + 16, 4);
    uint16_t dport;
    std::memcpy(&dport, p + kEthHdrLen + kIpv4HdrLen + 2, 2);
    return be16(12) == 0x0800 && p[14] == 0x45 && (be16(20) & 0x3fff) == 0 && p[23] == 17 &&
           be16(16) == len - kEthHdrLen && be16(38) == len - kEthHdrLen - kIpv4HdrLen &&
           dst == local_ip_be_ && dport == relay_port_be_;
  }

 private:
  uint32_t local_ip_be_;
  uint16_t relay_port_be_;
};

// The 42-byte IPv4 header template between the session read and the write into the packet.
class HeaderRegs {
 public:
  static HeaderRegs Load(const uint8_t* src) {
    HeaderRegs h;
    std::memcpy(h.bytes_, src, kV4HeaderLen);
    return h;
  }
  void Store(uint8_t* dst) const { std::memcpy(dst, bytes_, kV4HeaderLen); }

 private:
  uint8_t bytes_[kV4HeaderLen];
};

}  // namespace dprelay
