#include "dataplane/config.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "proto/addr.h"

namespace dprelay {
namespace {

struct Cidr {
  IpAddr ip;
  uint32_t prefix = 0;
};

absl::StatusOr<Cidr> ParseCidr(std::string_view flag, std::string_view text) {
  std::string_view addr = text;
  std::optional<uint32_t> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    uint32_t p;
    if (!absl::SimpleAtoi(std::string(text.substr(slash + 1)), &p)) {
      return absl::InvalidArgumentError(absl::StrFormat("--%s=%s: bad prefix length", flag, text));
    }
    prefix = p;
  }
  absl::StatusOr<IpAddr> ip = ParseIp(addr);
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: '%s' is not an IP address", flag, addr));
  }
  const uint32_t max = ip->is_v4() ? 32 : 128;
  if (prefix.value_or(max) > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: prefix length must be 0..%u", flag, text, max));
  }
  return Cidr{*ip, prefix.value_or(max)};
}

// Debian's Abseil has its own string_view: split there, hand back std::string_views.
std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> out;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    out.emplace_back(part.data(), part.size());
  }
  return out;
}

}  // namespace

absl::StatusOr<Ipv4Subnet> ParseIpv4Cidr(std::string_view flag, std::string_view text) {
  absl::StatusOr<Cidr> c = ParseCidr(flag, text);
  if (!c.ok() || !c->ip.is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: expected an IPv4 address like 10.0.0.1/24", flag, text));
  }
  return Ipv4Subnet{c->ip.v4_be(), static_cast<uint8_t>(c->prefix)};
}

absl::Status ParseAddressFlag(std::string_view text, DataplaneConfig* config) {
  bool have_v4 = false;
  config->address6.reset();
  for (std::string_view part : SplitCommas(text)) {
    absl::StatusOr<Cidr> c = ParseCidr("address", part);
    if (!c.ok()) {
      return c.status();
    }
    if (c->ip.is_v4()) {
      if (have_v4) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--address=%s: more than one IPv4 address", text));
      }
      have_v4 = true;
      config->address = Ipv4Subnet{c->ip.v4_be(), static_cast<uint8_t>(c->prefix)};
    } else {
      if (config->address6) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--address=%s: more than one IPv6 address", text));
      }
      if (IsIpv6LinkLocal(c->ip.bytes) || c->ip.bytes[0] == 0xff) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--address: %s must be a global or unique-local IPv6 address", part));
      }
      config->address6 = Ipv6Subnet{c->ip.bytes, static_cast<uint8_t>(c->prefix)};
    }
  }
  if (!have_v4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--address=%s: an IPv4 address is required (e.g. 10.0.0.1/24[,fd00::1/64])", text));
  }
  return absl::OkStatus();
}

absl::Status ParseGatewayFlag(std::string_view text, DataplaneConfig* config) {
  for (std::string_view part : SplitCommas(text)) {
    absl::StatusOr<IpAddr> ip = ParseIp(part);
    if (!ip.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--gateway: '%s' is not an IP address", part));
    }
    if (ip->is_v4()) {
      if (!config->address.Contains(ip->v4_be())) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--gateway=%s is not inside the IPv4 --address prefix", part));
      }
      config->gateway = ip->v4_be();
    } else {
      if (!config->address6) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--gateway=%s: IPv6 gateway without an IPv6 --address", part));
      }
      if (!IsIpv6LinkLocal(ip->bytes) && !config->address6->Contains(ip->bytes)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "--gateway=%s is neither link-local nor inside the IPv6 --address prefix", part));
      }
      config->gateway6 = ip->bytes;
    }
  }
  return absl::OkStatus();
}

}  // namespace dprelay
