// The dataplane's configuration, built and validated by main from flags (STYLE.md 10).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/neighbours.h"
#include "drivers/port_spec.h"

namespace dprelay {

struct DataplaneConfig {
  PortSpec port;
  Ipv4Subnet address;  // relay address and its connected prefix
  uint16_t relay_port = 40000;
  std::optional<uint32_t> gateway;  // network order; next hop for off-link clients
  uint32_t capacity = 65536;        // largest VNI the table holds
  std::string ipc_socket = "/run/dprelay/dataplane.sock";
  uint32_t idle_sleep_us = 0;     // sleep after an empty poll (0 = pure busy polling)
  uint32_t stats_interval_s = 0;  // log counters this often (0 = only at exit)
  // Kernel interface (net_tap) for non-relay traffic to the relay address; empty = none, such
  // traffic is dropped and counted (not_relay_port, unsupported_l4).
  std::string exception_iface;
};

// "10.0.0.1/24" (prefix defaults to 32). Errors name the flag.
absl::StatusOr<Ipv4Subnet> ParseIpv4Cidr(std::string_view flag, std::string_view text);

}  // namespace dprelay
