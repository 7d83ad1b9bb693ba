#include "drivers/host_check.h"

#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "drivers/eal_args.h"

namespace dprelay {
namespace {

namespace fs = std::filesystem;

// Drivers DPDK's PCI PMDs can work with: the userspace I/O ones, and the bifurcated mlx ones
// that keep the kernel driver bound.
bool DpdkCanUse(absl::string_view driver) {
  return driver == "vfio-pci" || driver == "uio_pci_generic" || driver == "igb_uio" ||
         driver == "mlx5_core" || driver == "mlx4_core";
}

// "0-1,4" -> {0,1,4}; nullopt if it does not parse (EAL's own grammar with '@' and
// parentheses is left to EAL).
std::optional<std::vector<int>> ParseCpuList(absl::string_view text) {
  std::vector<int> cpus;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    int lo = 0;
    int hi = 0;
    if (range.size() > 2 || !absl::SimpleAtoi(range[0], &lo) ||
        !absl::SimpleAtoi(range.back(), &hi) || lo < 0 || hi < lo || hi >= CPU_SETSIZE) {
      return std::nullopt;
    }
    for (int c = lo; c <= hi; ++c) {
      cpus.push_back(c);
    }
  }
  return cpus;
}

uint64_t ReservedHugepageBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename();  // hugepages-2048kB
    uint64_t kb = 0;
    uint64_t pages = 0;
    absl::string_view n = name;
    if (!absl::ConsumePrefix(&n, "hugepages-") || !absl::ConsumeSuffix(&n, "kB") ||
        !absl::SimpleAtoi(n, &kb)) {
      continue;
    }
    std::ifstream in(e.path() / "nr_hugepages");
    if (in >> pages) {
      bytes += pages * kb * 1024;
    }
  }
  return bytes;
}

// Mount points of hugetlbfs file systems.
std::vector<std::string> HugetlbfsMounts(const std::string& mounts) {
  std::vector<std::string> out;
  std::ifstream in(mounts);
  std::string device, dir, type;
  std::string rest;
  while (in >> device >> dir >> type && std::getline(in, rest)) {
    if (type == "hugetlbfs") {
      out.push_back(dir);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> DescribePortOnHost(const PortSpec& port, const HostPaths& paths) {
  switch (port.kind) {
    case PortKind::kAfXdp:
    case PortKind::kAfPacket: {
      const char* kind = port.kind == PortKind::kAfXdp ? "af_xdp" : "af_packet";
      unsigned index = if_nametoindex(port.arg.c_str());
      if (index == 0) {
        return absl::NotFoundError(absl::StrFormat(
            "--port=%s:%s: no interface %s on this host (ip link)", kind, port.arg, port.arg));
      }
      return absl::StrFormat("%s on %s (ifindex %u)", kind, port.arg, index);
    }
    case PortKind::kPci: {
      const fs::path dev = fs::path(paths.pci_devices) / port.arg;
      std::error_code ec;
      if (!fs::exists(dev, ec)) {
        return absl::NotFoundError(absl::StrFormat(
            "--port=pci:%s: no such PCI device (%s; lspci -D lists them)", port.arg,
            dev.string()));
      }
      fs::path driver = fs::read_symlink(dev / "driver", ec);
      if (ec) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "--port=pci:%s: bound to no driver; bind it to vfio-pci (scripts/bind_nic.sh)",
            port.arg));
      }
      std::string name = driver.filename();
      if (!DpdkCanUse(name)) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "--port=pci:%s: bound to kernel driver %s, which DPDK cannot drive; bind it to "
            "vfio-pci (scripts/bind_nic.sh)",
            port.arg, name));
      }
      return absl::StrFormat("pci %s, driver %s (EAL allow list: -a %s)", port.arg, name,
                             port.arg);
    }
    case PortKind::kNull:
      return std::string("net_null (a test device: nothing is received)");
    case PortKind::kExisting:
      return absl::StrFormat("ethdev %s, probed by EAL from its options", port.arg);
  }
  return absl::InternalError("unknown port kind");
}

std::vector<std::string> CheckEalArgsOnHost(const std::vector<std::string>& args,
                                            const HostPaths& paths) {
  std::vector<std::string> problems;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool have_affinity = sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  for (const std::string& list : EalOptionValues(args, "l", "")) {
    std::optional<std::vector<int>> cpus = ParseCpuList(list);
    if (!cpus) {
      problems.push_back(absl::StrFormat("--eal_args: -l %s: not a CPU list (e.g. 2-3 or 2,4)",
                                         list));
      continue;
    }
    for (int c : *cpus) {
      if (have_affinity && !CPU_ISSET(c, &allowed)) {
        problems.push_back(absl::StrFormat(
            "--eal_args: -l %s: CPU %d is not one this process may run on (nproc, CPUAffinity)",
            list, c));
      }
    }
  }
  const bool no_huge = std::find(args.begin(), args.end(), "--no-huge") != args.end();
  if (no_huge) {
    return problems;
  }
  if (ReservedHugepageBytes(paths.hugepages) == 0) {
    problems.push_back(absl::StrFormat(
        "--eal_args: no hugepages are reserved (%s/*/nr_hugepages): reserve them "
        "(scripts/bind_nic.sh hugepages N, /etc/dpdk/dpdk.conf) or pass --no-huge",
        paths.hugepages));
  }
  const std::vector<std::string> mounted = HugetlbfsMounts(paths.mounts);
  const std::vector<std::string> dirs = EalOptionValues(args, "", "huge-dir");
  if (mounted.empty()) {
    problems.push_back(absl::StrFormat(
        "--eal_args: no hugetlbfs is mounted (%s): mount one at /dev/hugepages (systemd's "
        "dev-hugepages.mount, dpdk.service) or pass --no-huge",
        paths.mounts));
  }
  for (const std::string& dir : dirs) {
    if (!mounted.empty() && std::find(mounted.begin(), mounted.end(), dir) == mounted.end()) {
      problems.push_back(absl::StrFormat("--eal_args: --huge-dir=%s is not a hugetlbfs mount (%s)",
                                         dir, absl::StrJoin(mounted, ", ")));
    }
  }
  return problems;
}

}  // namespace dprelay
