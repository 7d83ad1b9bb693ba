#include "tests/testutil/ring_port.h"

#include <rte_eth_ring.h>

#include "absl/strings/str_cat.h"

namespace dprelay::testing {

absl::StatusOr<RingPort> MakeRingPort(const std::string& name, int rx_queues, int tx_queues,
                                      unsigned ring_size, uint32_t mbufs) {
  RingPort p;
  auto make = [&](const std::string& ring) {
    return rte_ring_create(ring.c_str(), ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  };
  for (int q = 0; q < rx_queues; ++q) {
    p.rx.push_back(make(absl::StrCat(name, "_rx", q)));
  }
  for (int q = 0; q < tx_queues; ++q) {
    p.tx.push_back(make(absl::StrCat(name, "_tx", q)));
  }
  for (const std::vector<rte_ring*>* rings : {&p.rx, &p.tx}) {
    for (rte_ring* r : *rings) {
      if (r == nullptr) {
        return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot create its rings"));
      }
    }
  }
  const int port =
      rte_eth_from_rings(name.c_str(), p.rx.data(), p.rx.size(), p.tx.data(), p.tx.size(), 0);
  if (port < 0) {
    return absl::InternalError(absl::StrCat(name, ": rte_eth_from_rings failed"));
  }
  absl::StatusOr<PortInfo> info = StartExistingPort(
      static_cast<uint16_t>(port), PortConfig{.workers = rx_queues, .mbufs = mbufs});
  if (!info.ok()) {
    return info.status();
  }
  p.port = *info;
  return p;
}

void FreeRingPort(RingPort& p) {
  ShutDownPort(p.port);
  for (rte_ring* r : p.rx) {
    rte_ring_free(r);
  }
  for (rte_ring* r : p.tx) {
    rte_ring_free(r);
  }
  p.rx.clear();
  p.tx.clear();
}

}  // namespace dprelay::testing
