#include "drivers/multicast.h"

#include <net/if.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"

namespace dprelay {
namespace {

absl::Status JoinKernelInterface(const std::string& iface, std::span<const EtherAddr> macs) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("--port=%s: socket: %s", iface, strerror(errno)));
  }
  absl::Status status;
  for (const EtherAddr& mac : macs) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.data(), mac.size());
    if (ioctl(fd, SIOCADDMULTI, &ifr) != 0) {
      status = absl::InternalError(
          absl::StrFormat("--port: cannot add multicast %02x:%02x:%02x:%02x:%02x:%02x to %s: %s",
                          mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], iface, strerror(errno)));
      break;
    }
  }
  close(fd);
  return status;
}

absl::Status JoinEthdev(uint16_t port_id, std::span<const EtherAddr> macs) {
  std::vector<rte_ether_addr> list(macs.size());
  for (size_t i = 0; i < macs.size(); ++i) {
    std::memcpy(list[i].addr_bytes, macs[i].data(), 6);
  }
  int rc = rte_eth_dev_set_mc_addr_list(port_id, list.data(), static_cast<uint32_t>(list.size()));
  if (rc == 0) {
    return absl::OkStatus();
  }
  if (rc == -ENOTSUP) {
    rc = rte_eth_allmulticast_enable(port_id);
  }
  if (rc == 0 || rc == -ENOTSUP) {
    return absl::OkStatus();  // all-multicast, or a PMD without a filter
  }
  return absl::InternalError(absl::StrFormat("port %u: cannot receive the ND multicast groups: %s",
                                             port_id, rte_strerror(-rc)));
}

}  // namespace

EtherAddr Ipv6MulticastMac(const std::array<uint8_t, 16>& group) {
  return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

absl::Status JoinMulticast(const PortSpec& spec, uint16_t port_id,
                           std::span<const EtherAddr> macs) {
  if (spec.kind == PortKind::kAfXdp || spec.kind == PortKind::kAfPacket) {
    return JoinKernelInterface(spec.arg, macs);
  }
  return JoinEthdev(port_id, macs);
}

}  // namespace dprelay
