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

#include <array>
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
#include "tests/testutil/ring_port.h"

namespace dprelay {
namespace {

using testing::Frame;
using testing::Ip;

constexpr uint16_t kRelayPort = 40000;
constexpr uint32_t kVni = 3;
const uint32_t kRelayIp = Ip(10, 77, 0, 1);

struct Rig {
  testing::RingPort ring;  // 2 RX queues (one per worker), 3 TX queues
  MainRings to_main;
  rte_mempool* pool;
  PortInfo port;
};

Rig MakeRig(const std::string& name) {
  Rig r{};
  absl::StatusOr<testing::RingPort> ring = testing::MakeRingPort(name, 2, 3, 4096);
  EXPECT_TRUE(ring.ok()) << ring.status();
  r.ring = *ring;
  r.port = r.ring.port;
  absl::StatusOr<MainRings> rings = MainRings::Create(name + "main");
  EXPECT_TRUE(rings.ok()) << rings.status();
  r.to_main = *rings;
  r.pool =
      rte_pktmbuf_pool_create((name + "pool").c_str(), 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  return r;
}

void FreeRig(Rig& r) {
  r.to_main.Free();
  testing::FreeRingPort(r.ring);
  rte_mempool_free(r.pool);
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
  Inject(rig.ring.rx[0], rig.pool, DataFrom(ip_a, 5001, 0x01));  // leg 0 hashed to queue 0
  Inject(rig.ring.rx[1], rig.pool, DataFrom(ip_b, 5002, 0x02));  // leg 1 hashed to queue 1
  w0.Poll();
  w1.Poll();
  std::vector<std::vector<uint8_t>> out0 = Drain(rig.ring.tx[0]);
  std::vector<std::vector<uint8_t>> out1 = Drain(rig.ring.tx[1]);
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
  uint64_t packets, bytes;
  table.ReadLegStats(kVni, 0, &packets, &bytes);
  EXPECT_EQ(packets, 1u);
  table.ReadLegStats(kVni, 1, &packets, &bytes);
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
    a->worker->Poll();
  }
  return 0;
}

// One published version of leg 1 and how a packet forwarded with it must look.
struct LegVersion {
  LegFwd fwd;
  LegFwd6 v6;
  uint8_t mac_tag;
  std::vector<uint8_t> dst;  // 4 or 16 bytes
  uint16_t port;
};

LegVersion V4Version(uint32_t ip, uint16_t port, uint8_t tag) {
  uint32_t be = htonl(ip);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(&be);
  return LegVersion{Leg(ip, port, tag), {}, tag, {b, b + 4}, port};
}

LegVersion V6Version(const char* ip, uint16_t port, uint8_t tag) {
  LegVersion v{.mac_tag = tag, .port = port};
  const std::array<uint8_t, 16> addr = testing::Ip6(ip);
  LegEndpoints e{.local_port_be = htons(kRelayPort),
                 .peer_port_be = htons(port),
                 .local_mac = {0x02, 0, 0, 0, 0, 0x01},
                 .v6 = true,
                 .local_ip6 = testing::Ip6("fd77::1"),
                 .peer_ip6 = addr};
  MacAddr mac = {0x02, tag, tag, tag, tag, tag};
  v.fwd = BuildLegFwd(e, NextHopState::kResolved, &mac, &v.v6);
  v.dst.assign(addr.begin(), addr.end());
  return v;
}

// Whether f is exactly a forward with version v: its MAC, family, address and port, and
// valid checksums (a mix of two versions fails at least one).
bool ForwardedWith(const std::vector<uint8_t>& f, const LegVersion& v) {
  const bool v6 = v.dst.size() == 16;
  const size_t dst_at = v6 ? 38 : 30, port_at = v6 ? 56 : 36;
  return f.size() == (v6 ? 62u : 42u) + 64 && f[1] == v.mac_tag && f[12] == (v6 ? 0x86 : 0x08) &&
         std::memcmp(&f[dst_at], v.dst.data(), v.dst.size()) == 0 &&
         (f[port_at] << 8 | f[port_at + 1]) == v.port && testing::ChecksumsValid(f);
}

// The main thread republishes leg 1 through `versions` as fast as it can while a worker on
// another lcore forwards A's packets to it; every packet out must match one version.
void RebindStress(const std::vector<LegVersion>& versions, bool ipv6) {
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  ASSERT_LT(lcore, RTE_MAX_LCORE) << "needs a second lcore (-l 0-1)";
  Rig rig = MakeRig(ipv6 ? "mws6" : "mws");
  SessionTable table(16, 2, ipv6);
  LcoreCounters counters[2];
  const uint32_t ip_a = Ip(10, 77, 0, 11);
  const LegFwd a = Leg(ip_a, 5001, 0xaa);
  table.Publish(kVni, true, a, versions[0].fwd, nullptr, &versions[0].v6);
  WorkerContext ctx = Ctx(rig, &table, &counters[0], 0);
  ctx.ipv6 = ipv6;
  Worker worker(ctx);
  std::atomic<bool> stop{false};
  StressArg arg{&worker, &stop};
  ASSERT_EQ(rte_eal_remote_launch(StressLoop, &arg, lcore), 0);

  const std::vector<uint8_t> frame = DataFrom(ip_a, 5001, 0x5a);
  uint64_t sent = 0, received = 0, torn = 0, republished = 0;
  const uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz() * 2;  // two seconds of stress
  while (rte_rdtsc() < deadline) {
    for (int i = 0; i < 64 && rte_ring_free_count(rig.ring.rx[0]) > 0; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(rig.pool);
      if (m == nullptr) break;
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                  frame.size());
      rte_ring_enqueue(rig.ring.rx[0], m);
      ++sent;
    }
    const LegVersion& v = versions[republished++ % versions.size()];
    table.PublishLeg(kVni, 1, v.fwd, &v.v6);
    void* obj;
    while (rte_ring_dequeue(rig.ring.tx[0], &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      std::vector<uint8_t> f(p, p + rte_pktmbuf_data_len(m));
      rte_pktmbuf_free(m);
      ++received;
      bool ok = false;
      for (const LegVersion& candidate : versions) {
        ok = ok || ForwardedWith(f, candidate);
      }
      torn += ok ? 0 : 1;
    }
  }
  stop.store(true);
  rte_eal_wait_lcore(lcore);
  Drain(rig.ring.rx[0]);
  Drain(rig.ring.tx[0]);
  std::printf("stress: sent=%lu forwarded=%lu republished=%lu torn=%lu\n", sent, received,
              republished, torn);
  EXPECT_GT(received, 10000u);
  EXPECT_GT(republished, 10000u);
  EXPECT_EQ(torn, 0u);
  FreeRig(rig);
}

TEST(MultiWorkerTest, RebindsDuringForwardingNeverExposeAHalfWrittenLeg) {
  // Leg 1 flips between two consistent versions: (address X, port 6001, MAC tag 0x11) and
  // (address Y, port 6002, MAC tag 0x22). A torn read would mix them.
  RebindStress({V4Version(Ip(10, 77, 0, 21), 6001, 0x11), V4Version(Ip(10, 77, 0, 22), 6002, 0x22)},
               false);
}

TEST(MultiWorkerTest, RebindsAcrossFamiliesNeverExposeAHalfWrittenLeg) {
  // The same with leg 1 moving between IPv4 and two IPv6 addresses: the IPv6 record is
  // covered by the slot's seqcount, and the packet grows and shrinks consistently.
  RebindStress({V4Version(Ip(10, 77, 0, 21), 6001, 0x11), V6Version("fd77::22", 6002, 0x22),
                V6Version("fd77::23", 6003, 0x33)},
               true);
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0-1"); }
