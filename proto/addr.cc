#include "proto/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace dprelay {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Untrusted text goes into error messages escaped and cut short.
std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  // Debian's Abseil has its own string_view, distinct from std::string_view.
  std::string shown =
      absl::CHexEscape(absl::string_view(text.data(), std::min(text.size(), kMaxShown)));
  return absl::StrCat("\"", shown, text.size() > kMaxShown ? "\"..." : "\"");
}

bool IsV4Mapped(const uint8_t b[16]) {
  return std::memcmp(b, kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

}  // namespace

IpAddr IpAddr::Unmapped() const {
  if (!is_v6() || !IsV4Mapped(bytes.data())) {
    return *this;
  }
  return V4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

IpAddr IpAddr::V4Mapped() const {
  if (!is_v4()) {
    return *this;
  }
  uint8_t b[16] = {};
  std::memcpy(b, kV4MappedPrefix, sizeof(kV4MappedPrefix));
  std::memcpy(b + 12, bytes.data(), 4);
  return V6(b);
}

namespace {

// inet_pton needs a NUL-terminated string; an embedded NUL would silently cut the text short.
bool Pton(int af, std::string_view text, void* out) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN || text.find('\0') != text.npos) {
    return false;
  }
  std::string z(text);
  return inet_pton(af, z.c_str(), out) == 1;
}

absl::StatusOr<uint16_t> ParsePort(std::string_view digits, std::string_view whole) {
  if (digits.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("address ", Quote(whole), ": missing port"));
  }
  uint32_t port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", Quote(whole), ": port must be decimal digits"));
    }
    port = port * 10 + static_cast<uint32_t>(c - '0');
    if (port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", Quote(whole), ": port out of range 0..65535"));
    }
  }
  return static_cast<uint16_t>(port);
}

}  // namespace

IpAddr IpAddr::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.family = IpFamily::kV4;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

IpAddr IpAddr::V4FromBe(uint32_t be) {
  IpAddr ip;
  ip.family = IpFamily::kV4;
  std::memcpy(ip.bytes.data(), &be, 4);
  return ip;
}

IpAddr IpAddr::V6(const uint8_t bytes16[16]) {
  IpAddr ip;
  ip.family = IpFamily::kV6;
  std::memcpy(ip.bytes.data(), bytes16, 16);
  return ip;
}

uint32_t IpAddr::v4_be() const {
  uint32_t be = 0;
  if (is_v4()) {
    std::memcpy(&be, bytes.data(), 4);
  }
  return be;
}

absl::StatusOr<IpAddr> ParseIp(std::string_view text) {
  uint8_t buf[16] = {};
  if (Pton(AF_INET, text, buf)) {
    return IpAddr::V4(buf[0], buf[1], buf[2], buf[3]);
  }
  if (Pton(AF_INET6, text, buf)) {
    return IpAddr::V6(buf);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("IP address ", Quote(text), ": not an IPv4 or IPv6 address"));
}

absl::StatusOr<AddrPort> ParseAddrPort(std::string_view text) {
  AddrPort ap;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == text.npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", Quote(text), ": expected \"[ipv6]:port\""));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    uint8_t buf[16];
    if (!Pton(AF_INET6, host, buf)) {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", Quote(text), ": not an IPv6 address inside brackets"));
    }
    ap.ip = IpAddr::V6(buf);
  } else {
    size_t colon = text.rfind(':');
    if (colon == text.npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", Quote(text), ": expected \"ip:port\""));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    uint8_t buf[4];
    if (!Pton(AF_INET, host, buf)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "address ", Quote(text), ": not an IPv4 address (IPv6 needs \"[ipv6]:port\")"));
    }
    ap.ip = IpAddr::V4(buf[0], buf[1], buf[2], buf[3]);
  }
  absl::StatusOr<uint16_t> p = ParsePort(port, text);
  if (!p.ok()) {
    return p.status();
  }
  ap.port = *p;
  return ap;
}

std::string FormatIp(const IpAddr& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (ip.family) {
    case IpFamily::kV4:
      inet_ntop(AF_INET, ip.bytes.data(), buf, sizeof(buf));
      return buf;
    case IpFamily::kV6:
      inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof(buf));
      return buf;
    case IpFamily::kNone:
      break;
  }
  return "invalid IP";
}

std::string FormatAddrPort(const AddrPort& ap) {
  switch (ap.ip.family) {
    case IpFamily::kV4:
      return absl::StrCat(FormatIp(ap.ip), ":", ap.port);
    case IpFamily::kV6:
      return absl::StrCat("[", FormatIp(ap.ip), "]:", ap.port);
    case IpFamily::kNone:
      break;
  }
  return "invalid AddrPort";
}

void WriteIp16(const IpAddr& ip, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (ip.is_v4()) {
    std::memcpy(out, kV4MappedPrefix, sizeof(kV4MappedPrefix));
    std::memcpy(out + 12, ip.bytes.data(), 4);
  } else if (ip.is_v6()) {
    std::memcpy(out, ip.bytes.data(), 16);
  }
}

IpAddr ReadIp16(const uint8_t in[16]) {
  if (IsV4Mapped(in)) {
    return IpAddr::V4(in[12], in[13], in[14], in[15]);
  }
  return IpAddr::V6(in);
}

socklen_t ToSockaddr(const AddrPort& ap, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  if (ap.ip.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ap.port);
    std::memcpy(&sin.sin_addr, ap.ip.bytes.data(), 4);
    std::memcpy(out, &sin, sizeof(sin));
    return sizeof(sin);
  }
  if (ap.ip.is_v6()) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ap.port);
    std::memcpy(&sin6.sin6_addr, ap.ip.bytes.data(), 16);
    std::memcpy(out, &sin6, sizeof(sin6));
    return sizeof(sin6);
  }
  return 0;
}

absl::StatusOr<AddrPort> FromSockaddr(const sockaddr* sa, socklen_t len) {
  sa_family_t family = AF_UNSPEC;
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(family))) {
    return absl::InvalidArgumentError(absl::StrCat("sockaddr: too short (", len, " bytes)"));
  }
  std::memcpy(&family, reinterpret_cast<const uint8_t*>(sa) + offsetof(sockaddr, sa_family),
              sizeof(family));
  AddrPort ap;
  if (family == AF_INET) {
    sockaddr_in sin;
    if (len < static_cast<socklen_t>(sizeof(sin))) {
      return absl::InvalidArgumentError(
          absl::StrCat("sockaddr_in: ", len, " bytes, need ", sizeof(sin)));
    }
    std::memcpy(&sin, sa, sizeof(sin));
    ap.ip = IpAddr::V4FromBe(sin.sin_addr.s_addr);
    ap.port = ntohs(sin.sin_port);
    return ap;
  }
  if (family == AF_INET6) {
    sockaddr_in6 sin6;
    if (len < static_cast<socklen_t>(sizeof(sin6))) {
      return absl::InvalidArgumentError(
          absl::StrCat("sockaddr_in6: ", len, " bytes, need ", sizeof(sin6)));
    }
    std::memcpy(&sin6, sa, sizeof(sin6));
    ap.ip = ReadIp16(sin6.sin6_addr.s6_addr);
    ap.port = ntohs(sin6.sin6_port);
    return ap;
  }
  return absl::InvalidArgumentError(absl::StrCat("sockaddr: unsupported address family ", family));
}

}  // namespace dprelay
