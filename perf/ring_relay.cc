#include "perf/ring_relay.h"

#include <arpa/inet.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "absl/status/status.h"
#include "proto/clock.h"

namespace dprelay::perf {

absl::StatusOr<std::unique_ptr<RingRelay>> RingRelay::Create(uint32_t capacity) {
  auto r = std::make_unique<RingRelay>();
  r->to_relay = rte_ring_create("bench_e2r", 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  r->from_relay = rte_ring_create("bench_r2e", 4096, 0, RING_F_SC_DEQ);
  if (r->to_relay == nullptr || r->from_relay == nullptr) {
    return absl::ResourceExhaustedError("cannot create the emulator's rings");
  }
  absl::StatusOr<MainRings> main_rings = MainRings::Create("bench_main");
  if (!main_rings.ok()) {
    return main_rings.status();
  }
  r->to_main = *main_rings;
  rte_ring* tx[2] = {r->from_relay, r->from_relay};  // worker and main lcore TX queues
  const int port_id = rte_eth_from_rings("bench", &r->to_relay, 1, tx, 2, 0);
  if (port_id < 0) {
    return absl::InternalError("cannot create the ring port");
  }
  absl::StatusOr<PortInfo> port =
      StartExistingPort(static_cast<uint16_t>(port_id), PortConfig{.workers = 1, .mbufs = 8192});
  if (!port.ok()) {
    return port.status();
  }
  r->port = *port;
  r->emulator_pool =
      rte_pktmbuf_pool_create("bench_emu", 16384, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  if (r->emulator_pool == nullptr) {
    return absl::ResourceExhaustedError("cannot create the emulator's mbuf pool");
  }
  r->relay_ip_be = htonl(0x0a4d0001);    // 10.77.0.1
  r->gateway_ip_be = htonl(0x0a4d00fe);  // 10.77.0.254
  r->table = std::make_unique<SessionTable>(capacity, 1);
  r->neighbours = std::make_unique<Neighbours>(Ipv4Subnet{r->relay_ip_be, 24}, r->gateway_ip_be);
  LocalIdentity local{.ip_be = r->relay_ip_be,
                      .port_be = htons(kBenchRelayPort),
                      .port_id = r->port.port_id};
  std::memcpy(local.mac.data(), r->port.mac, 6);
  r->worker = std::make_unique<Worker>(WorkerContext{.port_id = r->port.port_id,
                                                     .tx_queue = 0,
                                                     .table = r->table.get(),
                                                     .counters = &r->counters[0],
                                                     .to_main = r->to_main,
                                                     .local_ip_be = r->relay_ip_be,
                                                     .relay_port_be = local.port_be});
  r->main = std::make_unique<MainLcore>(MainLcoreContext{.local = local,
                                                         .tx_queue = 1,
                                                         .lcore_index = 1,
                                                         .counters = &r->counters[1],
                                                         .from_workers = r->to_main,
                                                         .pool = r->port.pool,
                                                         .capacity = capacity},
                                        r->table.get(), r->neighbours.get(), nullptr);
  r->main->set_all_counters(r->counters, 2);
  return r;
}

void RingRelay::Pump() {
  while (rte_ring_count(to_relay) != 0 || rte_ring_count(to_main[MainClass::kHandshake]) != 0 ||
         rte_ring_count(to_main[MainClass::kNeighbour]) != 0 ||
         rte_ring_count(to_main[MainClass::kIcmp]) != 0) {
    worker->Poll();
    main->Poll(MonotonicNs());
  }
}

}  // namespace dprelay::perf
