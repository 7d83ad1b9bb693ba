// Receiving the IPv6 multicast groups Neighbour Discovery needs (RFC 4861 7.2.1: a node joins
// the solicited-node group of each of its addresses): without them, a NIC with a multicast
// filter drops every Neighbour Solicitation for the relay's addresses. How a port is told
// depends on who owns its filter (STYLE.md 11: one place, not scattered ifs):
//   - a kernel interface shared through AF_XDP or AF_PACKET: the kernel's filter, through
//     SIOCADDMULTI on the interface (what `ip maddr add` does);
//   - a port DPDK owns: rte_eth_dev_set_mc_addr_list, else all-multicast mode, else nothing
//     to do (the PMD delivers every frame: ring, null, tap).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "drivers/port_spec.h"

namespace dprelay {

using EtherAddr = std::array<uint8_t, 6>;

// 33:33 followed by the group's last 32 bits (RFC 2464 7).
EtherAddr Ipv6MulticastMac(const std::array<uint8_t, 16>& group);

// Makes the port receive frames sent to `macs`. Errors name the port or interface.
absl::Status JoinMulticast(const PortSpec& spec, uint16_t port_id, std::span<const EtherAddr> macs);

}  // namespace dprelay
