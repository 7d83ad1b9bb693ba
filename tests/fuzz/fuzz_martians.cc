// The martian filter (dataplane/martians.h) on any relay identity, subnet, advertised list and
// candidate leg address.
//
// Input: our IPv4 address (4 bytes), prefix length (1, taken mod 33), our IPv6 address (16, or
// none when its first byte is 0), then records of 19 bytes: family (1: bit 0 IPv4, bit 1
// IPv6, neither: no address), address (16), port (2, big-endian). The first record is the
// candidate, the rest the advertised endpoints.
//
// Properties: an address that passes is none of the classes the filter promises to refuse
// (checked here with their own arithmetic); an address that is refused has the property its
// reason names; the verdict does not depend on asking twice.
#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "dataplane/martians.h"
#include "fuzz_check.h"

namespace dprelay {
namespace {

constexpr size_t kRecordLen = 19;
constexpr size_t kMaxAdvertised = 8;

AddrPort Record(const uint8_t* r) {
  AddrPort a;
  if ((r[0] & 1) != 0) {
    uint32_t be;
    std::memcpy(&be, r + 1, 4);
    a.ip = IpAddr::V4FromBe(be);
  } else if ((r[0] & 2) != 0) {
    a.ip = IpAddr::V6(r + 1);
  }
  a.port = static_cast<uint16_t>(r[17] << 8 | r[18]);
  return a;
}

int FuzzOne(const uint8_t* data, size_t size) {
  constexpr size_t kHead = 4 + 1 + 16;
  if (size < kHead + kRecordLen) {
    return 0;
  }
  LocalIdentity local;
  std::memcpy(&local.ip_be, data, 4);
  local.mac = {0x02, 0, 0, 0, 0, 1};
  local.ipv6 = data[5] != 0;
  std::memcpy(local.ip6.data(), data + 5, 16);
  local.ll6 = LinkLocalFromMac(local.mac);
  const Ipv4Subnet subnet{.addr_be = local.ip_be, .prefix_len = static_cast<uint8_t>(data[4] % 33)};
  MartianFilter filter(local, subnet);

  const AddrPort a = Record(data + kHead);
  std::vector<AddrPort> advertised;
  for (size_t at = kHead + kRecordLen; at + kRecordLen <= size && advertised.size() < kMaxAdvertised;
       at += kRecordLen) {
    advertised.push_back(Record(data + at));
  }
  const bool is_advertised = std::find(advertised.begin(), advertised.end(), a) != advertised.end();
  filter.set_advertised(advertised);

  const std::optional<DropReason> r = filter.Check(a);
  FUZZ_CHECK(filter.Check(a) == r);

  // The classes, computed here independently of the filter.
  bool self = false, unspecified = false, loopback = false, multicast = false, broadcast = false;
  bool mapped = false;
  if (a.ip.is_v4()) {
    const uint32_t ip = ntohl(a.ip.v4_be());
    const uint32_t ours = ntohl(local.ip_be);
    const int p = subnet.prefix_len;
    const uint32_t host_mask = p == 0 ? 0xffffffffu : (p >= 32 ? 0u : 0xffffffffu >> p);
    self = ip == ours;
    unspecified = (ip & 0xff000000u) == 0;
    loopback = (ip & 0xff000000u) == 0x7f000000u;
    multicast = (ip & 0xf0000000u) == 0xe0000000u;
    broadcast = ip == 0xffffffffu || (p < 31 && ip == (ours | host_mask));
  } else if (a.ip.is_v6()) {
    const Ip6Bytes& b = a.ip.bytes;
    static constexpr uint8_t kZero[16] = {};
    self = local.ipv6 && (b == local.ip6 || b == local.ll6);
    multicast = b[0] == 0xff;
    unspecified = std::memcmp(b.data(), kZero, 16) == 0;
    loopback = std::memcmp(b.data(), kZero, 15) == 0 && b[15] == 1;
    mapped = std::memcmp(b.data(), kZero, 10) == 0 && b[10] == 0xff && b[11] == 0xff;
  } else {
    unspecified = true;
  }

  if (!r) {
    FUZZ_CHECK(!self && !unspecified && !loopback && !multicast && !broadcast && !mapped);
    FUZZ_CHECK(a.port != 0 && !is_advertised);
    return 0;
  }
  switch (*r) {
    case DropReason::kMartianSelf:
      FUZZ_CHECK(self);
      break;
    case DropReason::kMartianUnspecified:
      FUZZ_CHECK(unspecified);
      break;
    case DropReason::kMartianLoopback:
      FUZZ_CHECK(loopback);
      break;
    case DropReason::kMartianMulticast:
      FUZZ_CHECK(multicast);
      break;
    case DropReason::kMartianBroadcast:
      FUZZ_CHECK(broadcast);
      break;
    case DropReason::kMartianV4Mapped:
      FUZZ_CHECK(mapped);
      break;
    case DropReason::kMartianPortZero:
      FUZZ_CHECK(a.port == 0);
      break;
    case DropReason::kMartianAdvertised:
      FUZZ_CHECK(is_advertised);
      break;
    default:
      FUZZ_CHECK(false && "a reason that is not a martian class");
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
