// The dataplane's --port flag: which device to drive, as "kind:argument".
//   af_xdp:IFACE     net_af_xdp on a kernel interface (default choice on veth)
//   af_packet:IFACE  net_af_packet on a kernel interface (fallback)
//   null             net_null (tests, benchmarks)
//   pci:ADDR         a PCI NIC (e.g. pci:0000:3b:00.1); implies EAL's allow-list entry (-a)
//   dev:NAME         an ethdev EAL already probed: PCI address or a --vdev name
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dprelay {

enum class PortKind { kAfXdp, kAfPacket, kNull, kPci, kExisting };

struct PortSpec {
  PortKind kind = PortKind::kExisting;
  std::string arg;  // interface or device name; for kPci the address as DPDK names it
};

// Errors name the flag. A PCI address is checked and written the way DPDK names the ethdev
// (domain included: "3b:00.1" becomes "0000:3b:00.1").
absl::StatusOr<PortSpec> ParsePortSpec(std::string_view text);

// The vdev name and devargs that bring the spec up with `queues` queue pairs; empty name for
// kPci and kExisting. index keeps names unique when several ports are created.
struct VdevArgs {
  std::string name;
  std::string args;
};
VdevArgs VdevFor(const PortSpec& spec, int index, int queues);

}  // namespace dprelay
