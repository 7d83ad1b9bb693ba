// Several workers on one ring-backed port: the two legs of a session arrive on different RX
// queues and each worker forwards with the shared table; and a stress test in which the main
// thread republishes a leg continuously while a worker on another lcore forwards, checking that
// no packet ever leaves with a mix of two templates (a torn read of the seqcount-guarded slot).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/leg_template.h"
#include "dataplane/worker.h"
#include "drivers/port.h"
#include "proto/geneve.h"
#include "tests/testutil/eal_main.h"
#include "tests/testutil/packet_builder.h"

namespace dprelay {
namespace {

using testing::Frame;
using testing::Ip;

constexpr uint16_t kRelayPort = 40000;
constexpr uint32_t kVni = 3;
const uint32_t kRelayIp = Ip(10, 77, 0, 1);

struct Rig {
  rte_ring* rx[2];
  rte_ring* tx[3];
  rte_ring* to_main;
  rte_mempool* pool;
  PortInfo port;
};

Rig MakeRig(const std::string& name) {
  Rig r{};
  for (int q = 0; q < 2; ++q) {
    r.rx[q] = rte_ring_create((name + "rx" + std::to_string(q)).c_str(), 4096, 0,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  }
  for (int q = 0; q < 3; ++q) {
    r.tx[q] = rte_ring_create((name + "tx" + std::to_string(q)).c_str(), 4096, 0,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  }
  r.to_main = rte_ring_create((name + "main").c_str(), 1024, 0, RING_F_SC_DEQ);
  int port = rte_eth_from_rings(name.c_str(), r.rx, 2, r.tx, 3, 0);
  EXPECT_GE(port, 0);
  absl::StatusOr<PortInfo> info =
      StartExistingPort(static_cast<uint16_t>(port), PortConfig{.workers = 2});
  EXPECT_TRUE(info.ok()) << info.status();
  r.port = *info;
  r.pool =
      rte_pktmbuf_pool_create((name + "pool").c_str(), 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  return r;
}

void FreeRig(Rig& r) {
  ShutDownPort(r.port);
  rte_mempool_free(r.pool);
  for (rte_ring* ring : r.rx) rte_ring_free(ring);
  for (rte_ring* ring : r.tx) rte_ring_free(ring);
  rte_ring_free(r.to_main);
}

LegFwd Leg(uint32_t ip, uint16_t port, uint8_t mac_tag) {
  LegEndpoints e{.local_ip_be = htonl(kRelayIp),
                 .local_port_be = htons(kRelayPort),
                 .peer_ip_be = htonl(ip),
                 .peer_port_be = htons(port),
                 .local_mac = {0x02, 0, 0, 0, 0, 0x01}};
  MacAddr mac = {0x02, mac_tag, mac_tag, mac_tag, mac_tag, mac_tag};
  return BuildLegFwd(e, NextHopState::kResolved, &mac);
}

std::vector<uint8_t> DataFrom(uint32_t ip, uint16_t port, uint8_t fill) {
  Frame f;
  f.src_ip = ip;
  f.dst_ip = kRelayIp;
  f.src_port = port;
  f.dst_port = kRelayPort;
  f.payload.assign(64, fill);
  (void)EncodeGeneve({.protocol = kGeneveProtocolWireGuard, .vni = kVni},
                     std::span<uint8_t>(f.payload.data(), kGeneveHeaderLen));
  return f.Build();
}

void Inject(rte_ring* ring, rte_mempool* pool, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  ASSERT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
              frame.size());
  ASSERT_EQ(rte_ring_enqueue(ring, m), 0);
}

std::vector<std::vector<uint8_t>> Drain(rte_ring* ring) {
  std::vector<std::vector<uint8_t>> out;
  void* obj;
  while (rte_ring_dequeue(ring, &obj) == 0) {
    auto* m = static_cast<rte_mbuf*>(obj);
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    out.emplace_back(p, p + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

WorkerContext Ctx(const Rig& r, SessionTable* table, LcoreCounters* c, uint16_t q) {
  return WorkerContext{.port_id = r.port.port_id,
                       .rx_queue = q,
                       .tx_queue = q,
                       .lcore_index = q,
                       .table = table,
                       .counters = c,
                       .to_main = r.to_main,
                       .local_ip_be = htonl(kRelayIp),
                       .relay_port_be = htons(kRelayPort)};
}

TEST(MultiWorkerTest, LegsOnDifferentQueuesAreForwardedByWhicheverWorkerGetsThem) {
  Rig rig = MakeRig("mwq");
  SessionTable table(16, 2);
  LcoreCounters counters[2];
  const uint32_t ip_a = Ip(10, 77, 0, 11), ip_b = Ip(10, 77, 0, 12);
  table.Publish(kVni, true, Leg(ip_a, 5001, 0xaa), Leg(ip_b, 5002, 0xbb));
  Worker w0(Ctx(rig, &table, &counters[0], 0));
  Worker w1(Ctx(rig, &table, &counters[1], 1));
  Inject(rig.rx[0], rig.pool, DataFrom(ip_a, 5001, 0x01));  // leg 0 hashed to queue 0
  Inject(rig.rx[1], rig.pool, DataFrom(ip_b, 5002, 0x02));  // leg 1 hashed to queue 1
  w0.Poll(rte_rdtsc());
  w1.Poll(rte_rdtsc());
  std::vector<std::vector<uint8_t>> out0 = Drain(rig.tx[0]);
  std::vector<std::vector<uint8_t>> out1 = Drain(rig.tx[1]);
  ASSERT_EQ(out0.size(), 1u);
  ASSERT_EQ(out1.size(), 1u);
  EXPECT_EQ(out0[0][0], 0x02);  // to B's MAC
  EXPECT_EQ(out0[0][1], 0xbb);
  EXPECT_EQ(out0[0].back(), 0x01);
  EXPECT_EQ(out1[0][1], 0xaa);  // to A's MAC
  EXPECT_EQ(out1[0].back(), 0x02);
  EXPECT_TRUE(testing::ChecksumsValid(out0[0]));
  EXPECT_TRUE(testing::ChecksumsValid(out1[0]));
  // Each worker counted into its own block; per-leg stats sum over both.
  EXPECT_EQ(counters[0].forwarded_packets.load(), 1u);
  EXPECT_EQ(counters[1].forwarded_packets.load(), 1u);
  uint64_t packets, bytes, seen;
  table.ReadLegStats(kVni, 0, &packets, &bytes, &seen);
  EXPECT_EQ(packets, 1u);
  table.ReadLegStats(kVni, 1, &packets, &bytes, &seen);
  EXPECT_EQ(packets, 1u);
  FreeRig(rig);
}

struct StressArg {
  Worker* worker;
  std::atomic<bool>* stop;
};

int StressLoop(void* p) {
  auto* a = static_cast<StressArg*>(p);
  while (!a->stop->load(std::memory_order_relaxed)) {
    a->worker->Poll(rte_rdtsc());
  }
  return 0;
}

TEST(MultiWorkerTest, RebindsDuringForwardingNeverExposeAHalfWrittenLeg) {
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  ASSERT_LT(lcore, RTE_MAX_LCORE) << "needs a second lcore (-l 0-1)";
  Rig rig = MakeRig("mws");
  SessionTable table(16, 2);
  LcoreCounters counters[2];
  const uint32_t ip_a = Ip(10, 77, 0, 11);
  // Leg 1 flips between two consistent versions: (address X, port 6001, MAC tag 0x11) and
  // (address Y, port 6002, MAC tag 0x22). A torn read would mix them.
  const uint32_t ip_x = Ip(10, 77, 0, 21), ip_y = Ip(10, 77, 0, 22);
  const LegFwd a = Leg(ip_a, 5001, 0xaa);
  const LegFwd versions[2] = {Leg(ip_x, 6001, 0x11), Leg(ip_y, 6002, 0x22)};
  table.Publish(kVni, true, a, versions[0]);
  Worker worker(Ctx(rig, &table, &counters[0], 0));
  std::atomic<bool> stop{false};
  StressArg arg{&worker, &stop};
  ASSERT_EQ(rte_eal_remote_launch(StressLoop, &arg, lcore), 0);

  const std::vector<uint8_t> frame = DataFrom(ip_a, 5001, 0x5a);
  uint64_t sent = 0, received = 0, torn = 0, republished = 0;
  const uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz() * 2;  // two seconds of stress
  while (rte_rdtsc() < deadline) {
    for (int i = 0; i < 64 && rte_ring_free_count(rig.rx[0]) > 0; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(rig.pool);
      if (m == nullptr) break;
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                  frame.size());
      rte_ring_enqueue(rig.rx[0], m);
      ++sent;
    }
    table.PublishLeg(kVni, 1, versions[republished++ % 2]);
    void* obj;
    while (rte_ring_dequeue(rig.tx[0], &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      std::vector<uint8_t> f(p, p + rte_pktmbuf_data_len(m));
      rte_pktmbuf_free(m);
      ++received;
      const uint8_t tag = f[1];
      const uint16_t dport = static_cast<uint16_t>(f[36] << 8 | f[37]);
      uint32_t dst;
      std::memcpy(&dst, &f[30], 4);
      const bool is_x = tag == 0x11 && dport == 6001 && ntohl(dst) == ip_x;
      const bool is_y = tag == 0x22 && dport == 6002 && ntohl(dst) == ip_y;
      if (!(is_x || is_y) || !testing::ChecksumsValid(f)) {
        ++torn;
      }
    }
  }
  stop.store(true);
  rte_eal_wait_lcore(lcore);
  Drain(rig.rx[0]);
  Drain(rig.tx[0]);
  std::printf("stress: sent=%lu forwarded=%lu republished=%lu torn=%lu\n", sent, received,
              republished, torn);
  EXPECT_GT(received, 10000u);
  EXPECT_GT(republished, 10000u);
  EXPECT_EQ(torn, 0u);
  FreeRig(rig);
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0-1"); }
