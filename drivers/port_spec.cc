#include "drivers/port_spec.h"

#include <rte_pci.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dprelay {

absl::StatusOr<PortSpec> ParsePortSpec(std::string_view text) {
  if (text == "null") {
    return PortSpec{PortKind::kNull, ""};
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--port=%s: expected af_xdp:IFACE, af_packet:IFACE, pci:ADDRESS, null or dev:NAME", text));
  }
  std::string_view kind = text.substr(0, colon);
  std::string arg(text.substr(colon + 1));
  if (kind == "af_xdp") {
    return PortSpec{PortKind::kAfXdp, arg};
  }
  if (kind == "af_packet") {
    return PortSpec{PortKind::kAfPacket, arg};
  }
  if (kind == "pci") {
    rte_pci_addr addr{};
    char name[PCI_PRI_STR_SIZE] = {};
    if (rte_pci_addr_parse(arg.c_str(), &addr) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--port=%s: '%s' is not a PCI address (DDDD:BB:DD.F, e.g. 0000:3b:00.1)", text, arg));
    }
    rte_pci_device_name(&addr, name, sizeof(name));
    return PortSpec{PortKind::kPci, name};
  }
  if (kind == "dev") {
    return PortSpec{PortKind::kExisting, arg};
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("--port=%s: unknown kind '%s' (af_xdp, af_packet, pci, null, dev)", text, kind));
}

VdevArgs VdevFor(const PortSpec& spec, int index, int queues) {
  switch (spec.kind) {
    case PortKind::kAfXdp:
      return {absl::StrCat("net_af_xdp_dprelay", index),
              absl::StrFormat("iface=%s,start_queue=0,queue_count=%d", spec.arg, queues)};
    case PortKind::kAfPacket:
      return {absl::StrCat("net_af_packet_dprelay", index),
              absl::StrFormat("iface=%s,qpairs=%d", spec.arg, queues)};
    case PortKind::kNull:
      return {absl::StrCat("net_null_dprelay", index), ""};
    case PortKind::kPci:
    case PortKind::kExisting:
      break;
  }
  return {};
}

}  // namespace dprelay
