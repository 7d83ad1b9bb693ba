// The dataplane's configuration, built and validated by main from flags (STYLE.md 10).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/neighbours.h"
#include "drivers/port_spec.h"

namespace dprelay {

struct DataplaneConfig {
  PortSpec port;
  Ipv4Subnet address;                  // relay IPv4 address and its connected prefix
  std::optional<Ipv6Subnet> address6;  // relay IPv6 address and prefix, if any
  uint16_t relay_port = 40000;
  std::optional<uint32_t> gateway;   // network order; next hop for off-link IPv4 clients
  std::optional<Ip6Bytes> gateway6;  // next hop for off-link IPv6 clients
  uint32_t capacity = 65536;         // largest VNI the table holds
  std::string ipc_socket = "/run/dprelay-dataplane/dataplane.sock";
  // --ipc_group: a group whose processes may drive the dataplane besides root and our uid
  // (the socket is then 0660 of that group); unset = 0600, root and our uid only.
  std::optional<gid_t> ipc_group;
  uint32_t idle_sleep_us = 0;     // sleep after an empty poll (0 = pure busy polling)
  uint32_t stats_interval_s = 0;  // log counters this often (0 = only at exit)
  // Kernel interface (net_tap) for non-relay traffic to the relay address; empty = none, such
  // traffic is dropped and counted (not_relay_port, unsupported_l4).
  std::string exception_iface;

  NextHopConfig next_hops() const {
    return NextHopConfig{.v4 = address, .gateway4 = gateway, .v6 = address6, .gateway6 = gateway6};
  }
};

// "10.0.0.1/24" (prefix defaults to 32). Errors name the flag.
absl::StatusOr<Ipv4Subnet> ParseIpv4Cidr(std::string_view flag, std::string_view text);

// --address: "IPV4/PREFIX[,IPV6/PREFIX]" (either order; IPv6 prefix defaults to 128). One
// address per family, IPv4 required (as the reference relay requires a udp4 socket).
// --gateway: "IPV4[,IPV6]" (either, or both), each inside its family's prefix (or, for IPv6,
// link-local). Both fill `config` and name the flag and the offending part in errors.
absl::Status ParseAddressFlag(std::string_view text, DataplaneConfig* config);
absl::Status ParseGatewayFlag(std::string_view text, DataplaneConfig* config);

}  // namespace dprelay
