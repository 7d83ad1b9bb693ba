#include "dataplane/martians.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace dprelay {
namespace {

uint32_t SubnetBroadcast(const Ipv4Subnet& s) {
  if (s.prefix_len >= 31) {
    return 0;  // point-to-point (RFC 3021) or a host route: no broadcast address
  }
  return s.addr_be | ~s.mask_be();
}

std::optional<DropReason> CheckV4(uint32_t ip_be, const LocalIdentity& local,
                                  uint32_t subnet_broadcast_be) {
  const uint32_t ip = ntohl(ip_be);
  if (ip_be == local.ip_be) {
    return DropReason::kMartianSelf;
  }
  if ((ip >> 24) == 0) {
    return DropReason::kMartianUnspecified;  // 0.0.0.0/8: "this network"
  }
  if ((ip >> 24) == 127) {
    return DropReason::kMartianLoopback;
  }
  if ((ip >> 28) == 0xe) {
    return DropReason::kMartianMulticast;
  }
  if (ip == 0xffffffff || (subnet_broadcast_be != 0 && ip_be == subnet_broadcast_be)) {
    return DropReason::kMartianBroadcast;
  }
  return std::nullopt;
}

std::optional<DropReason> CheckV6(const std::array<uint8_t, 16>& a, const LocalIdentity& local) {
  static constexpr uint8_t kZero[16] = {};
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (local.ipv6 && (a == local.ip6 || a == local.ll6)) {
    return DropReason::kMartianSelf;
  }
  if (a[0] == 0xff) {
    return DropReason::kMartianMulticast;
  }
  if (std::memcmp(a.data(), kZero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
    return a[15] == 0 ? DropReason::kMartianUnspecified : DropReason::kMartianLoopback;
  }
  if (std::memcmp(a.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    return DropReason::kMartianV4Mapped;
  }
  return std::nullopt;
}

}  // namespace

MartianFilter::MartianFilter(const LocalIdentity& local, const Ipv4Subnet& v4)
    : local_(local), subnet_broadcast_be_(SubnetBroadcast(v4)) {}

std::optional<DropReason> MartianFilter::Check(const AddrPort& a) const {
  std::optional<DropReason> r;
  if (a.ip.is_v4()) {
    r = CheckV4(a.ip.v4_be(), local_, subnet_broadcast_be_);
  } else if (a.ip.is_v6()) {
    r = CheckV6(a.ip.bytes, local_);
  } else {
    r = DropReason::kMartianUnspecified;
  }
  if (r) {
    return r;
  }
  if (a.port == 0) {
    return DropReason::kMartianPortZero;
  }
  if (std::find(advertised_.begin(), advertised_.end(), a) != advertised_.end()) {
    return DropReason::kMartianAdvertised;
  }
  return std::nullopt;
}

}  // namespace dprelay
