#include "tests/testutil/packet_builder.h"

#include <arpa/inet.h>

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

// The IPv6 pseudo-header (RFC 8200 8.1) plus the L4 message at `l4` of length n.
uint16_t Sum6(const std::vector<uint8_t>& f, size_t l4, size_t n, uint8_t next_header) {
  uint32_t s = SumWords(&f[14 + 8], 32) + static_cast<uint32_t>(n) + next_header;
  return Finish(s + SumWords(&f[l4], n));
}

std::vector<uint8_t> BuildV6(const Frame& fr) {
  const size_t l4_len = fr.raw_l4 ? fr.payload.size() : 8 + fr.payload.size();
  std::vector<uint8_t> f(14 + 40 + l4_len, 0);
  for (int i = 0; i < 6; ++i) {
    f[i] = fr.dst_mac[i];
    f[6 + i] = fr.src_mac[i];
  }
  Put16(f, 12, 0x86dd);
  f[14] = 0x60;
  Put16(f, 14 + 4, static_cast<uint16_t>(l4_len));
  f[14 + 6] = fr.protocol;
  f[14 + 7] = fr.ttl;
  std::copy(fr.src_ip6.begin(), fr.src_ip6.end(), f.begin() + 22);
  std::copy(fr.dst_ip6.begin(), fr.dst_ip6.end(), f.begin() + 38);
  const size_t l4 = 54;
  if (fr.raw_l4) {
    std::copy(fr.payload.begin(), fr.payload.end(), f.begin() + l4);
    if (fr.protocol == 58 && l4_len >= 4) {
      f[l4 + 2] = f[l4 + 3] = 0;
      Put16(f, l4 + 2, Sum6(f, l4, l4_len, 58));
    }
    return f;
  }
  Put16(f, l4, fr.src_port);
  Put16(f, l4 + 2, fr.dst_port);
  Put16(f, l4 + 4, static_cast<uint16_t>(l4_len));
  std::copy(fr.payload.begin(), fr.payload.end(), f.begin() + static_cast<long>(l4 + 8));
  if (fr.udp_checksum) {
    uint16_t c = Sum6(f, l4, l4_len, 17);
    Put16(f, l4 + 6, c == 0 ? 0xffff : c);
  }
  return f;
}

}  // namespace

std::array<uint8_t, 16> Ip6(const char* text) {
  std::array<uint8_t, 16> out{};
  inet_pton(AF_INET6, text, out.data());
  return out;
}

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
  if (ipv6) {
    return BuildV6(*this);
  }
  const size_t ip_hdr = size_t{ihl} * 4;
  const size_t udp_len = raw_l4 ? payload.size() : 8 + payload.size();
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
  if (raw_l4) {
    std::copy(payload.begin(), payload.end(), f.begin() + static_cast<long>(udp));
    if (protocol == 1 && udp_len >= 4) {  // ICMP: checksum over the message only
      Put16(f, udp + 2, Finish(SumWords(&f[udp], udp_len)));
    }
    return f;
  }
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
  if (f.size() >= 14 + 40 + 4 && f[12] == 0x86 && f[13] == 0xdd) {
    const size_t l4_len = static_cast<size_t>(f[18] << 8 | f[19]);
    if (f.size() < 54 + l4_len || (f[20] == 17 && f[54 + 6] == 0 && f[54 + 7] == 0)) {
      return false;
    }
    return Sum6(f, 54, l4_len, f[20]) == 0;
  }
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
