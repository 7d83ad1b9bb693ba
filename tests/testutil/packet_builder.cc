#include "tests/testutil/packet_builder.h"

#include <cstdlib>

namespace dprelay::testing {
namespace {

void Put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}
void Put32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  Put16(v, at, static_cast<uint16_t>(x >> 16));
  Put16(v, at + 2, static_cast<uint16_t>(x));
}
uint32_t SumWords(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  }
  if (n % 2 != 0) {
    s += static_cast<uint32_t>(p[n - 1] << 8);
  }
  return s;
}
uint16_t Finish(uint32_t s) {
  while (s >> 16) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(~s);
}

}  // namespace

uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    }
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::strtoul(digits.substr(i, 2).c_str(), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> Frame::Build() const {
  const size_t ip_hdr = size_t{ihl} * 4;
  const size_t udp_len = 8 + payload.size();
  std::vector<uint8_t> f(14 + ip_hdr + udp_len, 0);
  for (int i = 0; i < 6; ++i) {
    f[i] = dst_mac[i];
    f[6 + i] = src_mac[i];
  }
  Put16(f, 12, 0x0800);
  const size_t ip = 14;
  f[ip] = static_cast<uint8_t>(0x40 | ihl);
  Put16(f, ip + 2, static_cast<uint16_t>(ip_hdr + udp_len));
  Put16(f, ip + 6, frag);
  f[ip + 8] = ttl;
  f[ip + 9] = protocol;
  Put32(f, ip + 12, src_ip);
  Put32(f, ip + 16, dst_ip);
  Put16(f, ip + 10, Finish(SumWords(&f[ip], ip_hdr)));
  const size_t udp = ip + ip_hdr;
  Put16(f, udp, src_port);
  Put16(f, udp + 2, dst_port);
  Put16(f, udp + 4, static_cast<uint16_t>(udp_len));
  std::copy(payload.begin(), payload.end(), f.begin() + static_cast<long>(udp + 8));
  if (udp_checksum && protocol == 17) {
    uint32_t s = SumWords(&f[ip + 12], 8) + 17 + static_cast<uint32_t>(udp_len);
    s += SumWords(&f[udp], udp_len);
    uint16_t c = Finish(s);
    Put16(f, udp + 6, c == 0 ? 0xffff : c);
  }
  return f;
}

bool ChecksumsValid(const std::vector<uint8_t>& f) {
  if (f.size() < 14 + 20 + 8) {
    return false;
  }
  const size_t ip = 14;
  const size_t ip_hdr = size_t{f[ip] & 0x0fu} * 4;
  if (Finish(SumWords(&f[ip], ip_hdr)) != 0) {
    return false;
  }
  const size_t udp = ip + ip_hdr;
  const size_t udp_len = static_cast<size_t>(f[udp + 4] << 8 | f[udp + 5]);
  if (f[udp + 6] == 0 && f[udp + 7] == 0) {
    return true;
  }
  uint32_t s = SumWords(&f[ip + 12], 8) + 17 + static_cast<uint32_t>(udp_len);
  s += SumWords(&f[udp], udp_len);
  return Finish(s) == 0;
}

}  // namespace dprelay::testing
