// Port bring-up: one RX queue per worker, one TX queue per worker plus one for the main
// lcore (DESIGN.md §3), a mempool per port, RSS where the PMD has it.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "drivers/port_spec.h"

struct rte_mempool;

namespace dprelay {

struct PortConfig {
  PortSpec spec;
  int index = 0;        // this port's position in the dataplane's list (vdev naming)
  int workers = 1;      // RX queues; TX queues = workers + 1
  uint32_t mbufs = 0;   // 0 = sized from queues, descriptors and held_mbufs
  // mbufs the application's rings can hold at once (handed between lcores): the pool keeps
  // that many on top of what RX/TX descriptors and the lcores' caches hold, so full rings
  // never leave RX queues without buffers to refill with.
  uint32_t held_mbufs = 0;
  uint16_t mtu = 1500;  // IP MTU
};

struct PortInfo {
  uint16_t port_id = 0;
  std::string name;
  std::string driver;
  uint8_t mac[6] = {};
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  rte_mempool* pool = nullptr;
};

// Creates the vdev if the spec asks for one, configures, sets up queues and starts the port.
// Errors name the port and the queue that failed.
absl::StatusOr<PortInfo> BringUpPort(const PortConfig& config);
// Stops and closes the port (and its vdev).
void ShutDownPort(const PortInfo& port);

// For ports a caller already created (tests with rte_eth_from_rings): configure and start.
absl::StatusOr<PortInfo> StartExistingPort(uint16_t port_id, const PortConfig& config);

}  // namespace dprelay
