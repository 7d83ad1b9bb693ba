#include "control/source_addr.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dprelay::control {
namespace {

constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const IpAddr& ip) {
  return ip.is_v6() && std::memcmp(ip.bytes.data(), kV4Mapped, sizeof(kV4Mapped)) == 0;
}

bool IsV6Loopback(const IpAddr& ip) {
  if (!ip.is_v6()) {
    return false;
  }
  for (size_t i = 0; i < 15; ++i) {
    if (ip.bytes[i] != 0) {
      return false;
    }
  }
  return ip.bytes[15] == 1;
}

size_t AddrBits(const IpAddr& ip) { return ip.is_v4() ? 32 : 128; }

// True if every bit of ip from position `from` on is zero.
bool HostBitsZero(const IpAddr& ip, size_t from) {
  for (size_t bit = from; bit < AddrBits(ip); ++bit) {
    if ((ip.bytes[bit / 8] >> (7 - bit % 8) & 1) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

IpAddr CanonicalIp(const IpAddr& ip) {
  if (IsV4Mapped(ip)) {
    return IpAddr::V4(ip.bytes[12], ip.bytes[13], ip.bytes[14], ip.bytes[15]);
  }
  if (IsV6Loopback(ip)) {
    return IpAddr::V4(127, 0, 0, 1);
  }
  return ip;
}

bool IsUsableSource(const IpAddr& canonical) {
  if (!canonical.valid()) {
    return false;
  }
  for (uint8_t b : canonical.bytes) {
    if (b != 0) {
      return true;
    }
  }
  return false;  // 0.0.0.0 or ::
}

bool IpPrefix::Contains(const IpAddr& canonical) const {
  if (canonical.family != base.family) {
    return false;
  }
  const size_t full = length / 8;
  if (std::memcmp(canonical.bytes.data(), base.bytes.data(), full) != 0) {
    return false;
  }
  const size_t rest = length % 8;
  if (rest == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (canonical.bytes[full] & mask) == (base.bytes[full] & mask);
}

absl::StatusOr<IpPrefix> ParsePrefix(std::string_view text) {
  const std::string shown(text);
  std::string_view addr_text = text;
  std::string_view len_text;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    len_text = text.substr(slash + 1);
  }
  absl::StatusOr<IpAddr> ip = ParseIp(addr_text);
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix \"", shown, "\": ", ip.status().message()));
  }
  uint32_t length = static_cast<uint32_t>(AddrBits(*ip));
  if (!len_text.empty() || text.find('/') != std::string_view::npos) {
    if (!absl::SimpleAtoi(absl::string_view(len_text.data(), len_text.size()), &length) ||
        length > AddrBits(*ip)) {
      return absl::InvalidArgumentError(
          absl::StrCat("prefix \"", shown, "\": length must be 0..", AddrBits(*ip)));
    }
  }
  if (!HostBitsZero(*ip, length)) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix \"", shown, "\": address has bits set past the /", length));
  }
  IpPrefix prefix{.base = *ip, .length = static_cast<uint8_t>(length)};
  if (IsV4Mapped(*ip) && length >= 96) {
    prefix = {.base = CanonicalIp(*ip), .length = static_cast<uint8_t>(length - 96)};
  } else if (IsV6Loopback(*ip) && length == 128) {
    prefix = {.base = CanonicalIp(*ip), .length = 32};
  }
  return prefix;
}

std::string FormatPrefix(const IpPrefix& prefix) {
  return absl::StrCat(FormatIp(prefix.base), "/", prefix.length);
}

}  // namespace dprelay::control
