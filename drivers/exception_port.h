// The exception interface (DESIGN.md §3): a net_tap device whose kernel side carries the NIC's
// MAC and the relay address, so that traffic for our address that is not relay traffic (TCP
// health checks, SSH, other UDP ports) reaches the kernel and the kernel's answers leave
// through the NIC. Driver specifics (vdev name and devargs, the kernel-side address) live here.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "drivers/port.h"

namespace dprelay {

struct ExceptionPortConfig {
  std::string iface;     // kernel interface name, e.g. "dprelay0" (< IFNAMSIZ)
  uint8_t mac[6] = {};   // the NIC's MAC: the kernel answers as the NIC
  uint32_t addr_be = 0;  // relay address given to the kernel interface (network order)
  uint8_t prefix_len = 32;
  // The relay's IPv6 address, when it has one: given to the kernel interface too.
  bool has_addr6 = false;
  uint8_t addr6[16] = {};
  uint8_t prefix6_len = 128;
  uint16_t mtu = 1500;
};

// The vdev name and devargs for net_tap (exposed for tests).
VdevArgs TapVdevFor(const ExceptionPortConfig& config);

// Creates the tap, starts it with one queue pair, and gives its kernel side the address and
// prefix (the connected route comes with it; any further routes are the operator's). Errors
// name the interface and the step that failed.
absl::StatusOr<PortInfo> BringUpExceptionPort(const ExceptionPortConfig& config);

}  // namespace dprelay
