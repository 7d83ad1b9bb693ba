// What `dprelay-dataplane --check` verifies on this host without starting EAL or touching a
// device: that the port exists and is bound to a driver DPDK can use, that the EAL lcores are
// CPUs we may run on, and that hugepages are reserved and mounted (hugetlbfs, or the
// --huge-dir given) unless --no-huge.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/port_spec.h"

namespace dprelay {

// Where sysfs is (tests point it at a fake tree).
struct HostPaths {
  std::string pci_devices = "/sys/bus/pci/devices";
  std::string hugepages = "/sys/kernel/mm/hugepages";
  std::string mounts = "/proc/mounts";
};

// One line describing the port ("pci 0000:3b:00.1, driver vfio-pci"), or an error naming
// --port and what to do.
absl::StatusOr<std::string> DescribePortOnHost(const PortSpec& port, const HostPaths& paths = {});

// One line per problem with the EAL arguments on this host; each names --eal_args.
std::vector<std::string> CheckEalArgsOnHost(const std::vector<std::string>& args,
                                            const HostPaths& paths = {});

}  // namespace dprelay
