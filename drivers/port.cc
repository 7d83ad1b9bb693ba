#include "drivers/port.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "drivers/pmd_caps.h"

namespace dprelay {
namespace {

// Per-lcore mempool cache; must be >= the RX/TX burst (32) so a burst never hits the ring.
constexpr unsigned kMempoolCache = 256;
static_assert(kMempoolCache >= 32, "mempool cache must hold a full burst");
// Headroom for in-flight bursts and the main lcore's own packets (ARP requests, MLD).
constexpr uint32_t kSpareMbufs = 1024;

absl::Status PortError(uint16_t port_id, std::string_view what, int rc) {
  return absl::InternalError(absl::StrFormat("port %u: %s: %s", port_id, what, rte_strerror(-rc)));
}

absl::StatusOr<PortInfo> ConfigureAndStart(uint16_t port_id, const PortConfig& config) {
  PortInfo info;
  info.port_id = port_id;
  rte_eth_dev_info dev_info{};
  if (int rc = rte_eth_dev_info_get(port_id, &dev_info); rc != 0) {
    return PortError(port_id, "dev_info_get", rc);
  }
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port_id, name);
  info.name = name;
  info.driver = dev_info.driver_name;
  const PmdCaps& caps = LookupPmdCaps(info.driver);

  info.rx_queues = static_cast<uint16_t>(config.workers);
  // One TX queue per worker plus one for the main lcore when the driver has that many; with
  // exactly one per worker the main lcore hands its packets to worker 0 (see Dataplane).
  info.tx_queues = static_cast<uint16_t>(std::min<int>(
      caps.paired_queues ? config.workers : config.workers + 1, dev_info.max_tx_queues));
  if (info.rx_queues > dev_info.max_rx_queues || info.tx_queues < config.workers) {
    return absl::InvalidArgumentError(
        absl::StrFormat("port %u (%s, %s): needs %u RX and %u TX queues, driver offers %u and %u",
                        port_id, name, info.driver, info.rx_queues, config.workers,
                        dev_info.max_rx_queues, dev_info.max_tx_queues));
  }

  rte_eth_conf conf{};
  if (caps.rss && config.workers > 1) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP) &
        dev_info.flow_type_rss_offloads;
  }
  if (int rc = rte_eth_dev_configure(port_id, info.rx_queues, info.tx_queues, &conf); rc != 0) {
    return PortError(port_id, "configure", rc);
  }
  uint16_t rx_desc = caps.rx_desc;
  uint16_t tx_desc = caps.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc); rc != 0) {
    return PortError(port_id, "adjust descriptors", rc);
  }

  uint32_t mbufs = config.mbufs;
  if (mbufs == 0) {
    // Every lcore's cache may hold up to 1.5x its size (rte_mempool flush threshold).
    const uint32_t caches = (rte_lcore_count() + 1) * kMempoolCache * 3 / 2;
    mbufs = info.rx_queues * rx_desc + info.tx_queues * tx_desc + caches + config.held_mbufs +
            kSpareMbufs;
  }
  std::string pool_name = absl::StrFormat("dprelay_pool%u", port_id);
  info.pool = rte_pktmbuf_pool_create(pool_name.c_str(), mbufs, kMempoolCache, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(port_id));
  if (info.pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "port %u: cannot create a pool of %u mbufs: %s (more hugepages, or -m with --no-huge)",
        port_id, mbufs, rte_strerror(rte_errno)));
  }

  int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < info.rx_queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, socket, nullptr, info.pool); rc != 0) {
      return PortError(port_id, absl::StrFormat("rx queue %u setup", q), rc);
    }
  }
  for (uint16_t q = 0; q < info.tx_queues; ++q) {
    if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, socket, nullptr); rc != 0) {
      return PortError(port_id, absl::StrFormat("tx queue %u setup", q), rc);
    }
  }
  // An MTU the driver refuses is not fatal: vdevs follow their kernel interface.
  rte_eth_dev_set_mtu(port_id, config.mtu);
  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    return PortError(port_id, "start", rc);
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port_id, &mac);
  std::memcpy(info.mac, mac.addr_bytes, sizeof(info.mac));
  return info;
}

}  // namespace

absl::StatusOr<PortInfo> BringUpPort(const PortConfig& config) {
  uint16_t port_id = 0;
  VdevArgs vdev = VdevFor(config.spec, config.index, config.workers);
  std::string dev_name = vdev.name.empty() ? config.spec.arg : vdev.name;
  if (!vdev.name.empty()) {
    if (int rc = rte_vdev_init(vdev.name.c_str(), vdev.args.c_str()); rc != 0) {
      return absl::InternalError(absl::StrFormat(
          "--port: cannot create %s with '%s': %s (does the interface exist and is it up?)",
          vdev.name, vdev.args, rte_strerror(-rc)));
    }
  }
  if (int rc = rte_eth_dev_get_port_by_name(dev_name.c_str(), &port_id); rc != 0) {
    return absl::NotFoundError(absl::StrFormat(
        "--port: no ethdev named '%s' (pass it to EAL with -a or --vdev)", dev_name));
  }
  return ConfigureAndStart(port_id, config);
}

absl::StatusOr<PortInfo> StartExistingPort(uint16_t port_id, const PortConfig& config) {
  return ConfigureAndStart(port_id, config);
}

void ShutDownPort(const PortInfo& port) {
  rte_eth_dev_stop(port.port_id);
  rte_eth_dev_close(port.port_id);
  if (port.name.rfind("net_", 0) == 0) {
    rte_vdev_uninit(port.name.c_str());
  }
  rte_mempool_free(port.pool);
}

}  // namespace dprelay
