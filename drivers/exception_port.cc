#include "drivers/exception_port.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace dprelay {
namespace {

absl::Status IfaceError(const std::string& iface, std::string_view what, int err) {
  return absl::InternalError(
      absl::StrFormat("--exception_iface=%s: %s: %s", iface, what, std::strerror(err)));
}

void SetSockaddr(sockaddr* sa, uint32_t addr_be) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = addr_be;
  std::memcpy(sa, &sin, sizeof(sin));
}

// Address, netmask and IFF_UP on the kernel side, through the classic ioctls (no netlink
// needed for one IPv4 address).
absl::Status ConfigureKernelSide(const ExceptionPortConfig& config) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return IfaceError(config.iface, "socket", errno);
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, config.iface.data(), config.iface.size());
  absl::Status status;
  SetSockaddr(&ifr.ifr_addr, config.addr_be);
  if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
    status = IfaceError(config.iface, "set address", errno);
  }
  const uint32_t mask = config.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - config.prefix_len);
  SetSockaddr(&ifr.ifr_netmask, htonl(mask));
  if (status.ok() && ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) {
    status = IfaceError(config.iface, "set netmask", errno);
  }
  if (status.ok() && ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    status = IfaceError(config.iface, "get flags", errno);
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (status.ok() && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
    status = IfaceError(config.iface, "set up", errno);
  }
  close(fd);
  return status;
}

// The kernel's struct in6_ifreq (<linux/ipv6.h> clashes with <netinet/in.h>).
struct In6Ifreq {
  in6_addr addr;
  uint32_t prefix_len;
  int ifindex;
};

// No duplicate address detection on the kernel side: the address is the relay's own and the
// dataplane answers Neighbour Discovery for it. Set before the interface goes up.
absl::Status DisableDad(const ExceptionPortConfig& config) {
  const std::string path = "/proc/sys/net/ipv6/conf/" + config.iface + "/accept_dad";
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return IfaceError(config.iface, "open " + path, errno);
  }
  const bool ok = std::fputs("0", f) >= 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    return IfaceError(config.iface, "write " + path, ok ? errno : err);
  }
  return absl::OkStatus();
}

// The IPv6 address (the connected route comes with it).
absl::Status ConfigureKernelSide6(const ExceptionPortConfig& config) {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return IfaceError(config.iface, "socket (IPv6)", errno);
  }
  In6Ifreq req{};
  std::memcpy(&req.addr, config.addr6, 16);
  req.prefix_len = config.prefix6_len;
  req.ifindex = static_cast<int>(if_nametoindex(config.iface.c_str()));
  absl::Status status;
  if (req.ifindex == 0 || ioctl(fd, SIOCSIFADDR, &req) != 0) {
    status = IfaceError(config.iface, "set IPv6 address", errno);
  }
  close(fd);
  return status;
}

}  // namespace

VdevArgs TapVdevFor(const ExceptionPortConfig& config) {
  const uint8_t* m = config.mac;
  return {"net_tap_dprelay_x", absl::StrFormat("iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x",
                                               config.iface, m[0], m[1], m[2], m[3], m[4], m[5])};
}

absl::StatusOr<PortInfo> BringUpExceptionPort(const ExceptionPortConfig& config) {
  if (config.iface.empty() || config.iface.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--exception_iface=%s: an interface name of 1..%d characters", config.iface, IFNAMSIZ - 1));
  }
  static constexpr uint8_t kZero[6] = {};
  if (std::memcmp(config.mac, kZero, sizeof(kZero)) == 0) {
    // net_tap would pick a random MAC, and the kernel would ignore what is sent to the NIC's.
    return absl::InvalidArgumentError(absl::StrFormat(
        "--exception_iface=%s: the NIC has no MAC address to give the interface", config.iface));
  }
  const VdevArgs vdev = TapVdevFor(config);
  if (int rc = rte_vdev_init(vdev.name.c_str(), vdev.args.c_str()); rc != 0) {
    return absl::InternalError(absl::StrFormat(
        "--exception_iface=%s: cannot create %s with '%s': %s (root and /dev/net/tun needed; "
        "is the name taken?)",
        config.iface, vdev.name, vdev.args, rte_strerror(-rc)));
  }
  uint16_t port_id = 0;
  if (int rc = rte_eth_dev_get_port_by_name(vdev.name.c_str(), &port_id); rc != 0) {
    rte_vdev_uninit(vdev.name.c_str());
    return absl::InternalError(
        absl::StrFormat("--exception_iface=%s: %s created but not found", config.iface, vdev.name));
  }
  // The kernel's traffic is light (health checks, SSH): one queue pair and a small pool.
  absl::StatusOr<PortInfo> info = StartExistingPort(
      port_id, PortConfig{.index = 1, .workers = 1, .mbufs = 4096, .mtu = config.mtu});
  if (!info.ok()) {
    rte_vdev_uninit(vdev.name.c_str());
    return absl::InternalError(
        absl::StrFormat("--exception_iface=%s: %s", config.iface, info.status().message()));
  }
  absl::Status configured = config.has_addr6 ? DisableDad(config) : absl::OkStatus();
  if (configured.ok()) {
    configured = ConfigureKernelSide(config);
  }
  if (configured.ok() && config.has_addr6) {
    configured = ConfigureKernelSide6(config);
  }
  if (!configured.ok()) {
    ShutDownPort(*info);
    return configured;
  }
  return info;
}

}  // namespace dprelay
