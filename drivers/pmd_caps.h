// What each poll-mode driver can do, in one table keyed by driver name (STYLE.md 11):
// no scattered `if (driver == ...)` anywhere else.
#pragma once

#include <cstdint>
#include <string_view>

namespace dprelay {

struct PmdCaps {
  std::string_view driver;  // rte_eth_dev_info.driver_name
  bool rss;                 // RSS over the UDP 4-tuple can be asked for
  bool kernel_shared;       // shares a kernel interface (af_xdp, af_packet): no promiscuous mode
  uint16_t rx_desc;         // descriptors per RX queue
  uint16_t tx_desc;         // descriptors per TX queue
  // TX queues must equal RX queues (net_tap): no queue of its own for the main lcore.
  bool paired_queues = false;
};

// Caps for a driver; unknown drivers get conservative defaults (no RSS, 1024 descriptors).
const PmdCaps& LookupPmdCaps(std::string_view driver_name);

}  // namespace dprelay
