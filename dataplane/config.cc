#include "dataplane/config.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "proto/addr.h"

namespace dprelay {

absl::StatusOr<Ipv4Subnet> ParseIpv4Cidr(std::string_view flag, std::string_view text) {
  std::string_view addr = text;
  uint32_t prefix = 32;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    if (!absl::SimpleAtoi(std::string(text.substr(slash + 1)), &prefix) || prefix > 32) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s=%s: prefix length must be 0..32", flag, text));
    }
  }
  absl::StatusOr<IpAddr> ip = ParseIp(addr);
  if (!ip.ok() || !ip->is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: expected an IPv4 address like 10.0.0.1/24", flag, text));
  }
  return Ipv4Subnet{ip->v4_be(), static_cast<uint8_t>(prefix)};
}

}  // namespace dprelay
