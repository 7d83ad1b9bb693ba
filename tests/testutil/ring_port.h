// A ring-backed ethdev for EAL tests (rte_eth_from_rings): the test enqueues frames on the rx
// rings as if the wire delivered them and dequeues what the port sent from the tx rings.
#pragma once

#include <rte_ring.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/port.h"

namespace dprelay::testing {

struct RingPort {
  std::vector<rte_ring*> rx;  // one per RX queue
  std::vector<rte_ring*> tx;  // one per TX queue
  PortInfo port;
};

// `name` must be unique in the process (it names the rings and the port). The port is started
// with one worker per RX queue, as the dataplane would.
absl::StatusOr<RingPort> MakeRingPort(const std::string& name, int rx_queues, int tx_queues,
                                      unsigned ring_size = 1024, uint32_t mbufs = 0);
void FreeRingPort(RingPort& p);

}  // namespace dprelay::testing
