// The EAL tests' relay on ring-backed ports (rte_eth_from_rings): a worker and the main
// lcore, two clients with keys, and helpers that build their frames, run the handshake and
// read what the relay sent. No NIC, no hugepages.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/main_lcore.h"
#include "dataplane/worker.h"
#include "drivers/port.h"
#include "drivers/xstats.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"
#include "tests/testutil/packet_builder.h"
#include "tests/testutil/ring_port.h"

namespace dprelay {

using testing::Frame;
using testing::Ip;

constexpr uint16_t kRelayPort = 40000;
const uint32_t kRelayIp = Ip(10, 77, 0, 1);
const uint32_t kIpA = Ip(10, 77, 0, 11);
const uint32_t kIpB = Ip(10, 77, 0, 12);
constexpr uint8_t kMacA[6] = {0x02, 0xaa, 0, 0, 0, 0x0a};
constexpr uint8_t kMacB[6] = {0x02, 0xbb, 0, 0, 0, 0x0b};
constexpr uint32_t kVni = 7;
const std::array<uint8_t, 16> kRelayIp6 = testing::Ip6("fd77::1");
const std::array<uint8_t, 16> kIp6A = testing::Ip6("fd77::11");
const std::array<uint8_t, 16> kIp6B = testing::Ip6("fd77::12");
constexpr uint64_t kSecond = 1'000'000'000;

inline DiscoKeyPair KeyFromByte(uint8_t b) {
  DiscoPrivateKey p;
  p.bytes.fill(b);
  return KeyPairFromPrivate(p);
}

// A client of the relay; v6 ones send from ip6 to the relay's IPv6 address.
struct Client {
  DiscoKeyPair key;
  uint32_t ip;
  uint16_t port;
  const uint8_t* mac;
  SharedKey with_server;
  bool v6 = false;
  std::array<uint8_t, 16> ip6{};

  AddrPort addr() const {
    return v6 ? AddrPort{IpAddr::V6(ip6.data()), port}
              : AddrPort{IpAddr::V4FromBe(htonl(ip)), port};
  }
};

// The relay's worker and main lcore on a ring-backed port with two TX queues (worker 0, main
// lcore 1). IPv4 relay 10.77.0.1/24; with ipv6_ set (by a derived fixture's constructor) also
// fd77::1/64.
class RelayEalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int instance = 0;
    std::string n = std::to_string(instance++);
    absl::StatusOr<testing::RingPort> ring = testing::MakeRingPort("ring" + n, 1, 2);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = *ring;
    rx_ = ring_.rx[0];
    tx_[0] = ring_.tx[0];
    tx_[1] = ring_.tx[1];
    port_ = ring_.port;
    ASSERT_EQ(port_.tx_queues, 2);
    pool_ =
        rte_pktmbuf_pool_create(("inject" + n).c_str(), 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);
    absl::StatusOr<MainRings> rings = MainRings::Create("main" + n);
    ASSERT_TRUE(rings.ok()) << rings.status();
    to_main_ = *rings;

    table_ = std::make_unique<SessionTable>(1024, 1, ipv6_);
    NextHopConfig hops{.v4 = Ipv4Subnet{htonl(kRelayIp), 24}};
    if (ipv6_) {
      hops.v6 = Ipv6Subnet{kRelayIp6, 64};
    }
    neighbours_ = std::make_unique<Neighbours>(hops);
    LocalIdentity local{
        .ip_be = htonl(kRelayIp), .port_be = htons(kRelayPort), .port_id = port_.port_id};
    std::memcpy(local.mac.data(), port_.mac, 6);
    if (ipv6_) {
      local.ipv6 = true;
      local.ip6 = kRelayIp6;
      local.ll6 = LinkLocalFromMac(local.mac);
    }
    WorkerContext wc{.port_id = port_.port_id,
                     .rx_queue = 0,
                     .tx_queue = 0,
                     .lcore_index = 0,
                     .table = table_.get(),
                     .counters = &counters_[0],
                     .to_main = to_main_,
                     .local_ip_be = local.ip_be,
                     .relay_port_be = local.port_be};
    SetWorkerIpv6(local, &wc);
    worker_ = std::make_unique<Worker>(wc);
    main_ = std::make_unique<MainLcore>(MainLcoreContext{.local = local,
                                                         .tx_queue = 1,
                                                         .lcore_index = 1,
                                                         .counters = &counters_[1],
                                                         .from_workers = to_main_,
                                                         .pool = port_.pool,
                                                         .capacity = 1024},
                                        table_.get(), neighbours_.get(), nullptr);
    main_->set_all_counters(counters_, 2);

    server_ = KeyFromByte(0x33);
    a_ = Client{KeyFromByte(0x11), kIpA, 5001, kMacA, {}};
    b_ = Client{KeyFromByte(0x22), kIpB, 5002, kMacB, {}};
    a_.with_server = *ComputeSharedKey(server_.pub, a_.key.priv);
    b_.with_server = *ComputeSharedKey(server_.pub, b_.key.priv);
  }

  void TearDown() override {
    main_.reset();
    worker_.reset();
    to_main_.Free();
    testing::FreeRingPort(ring_);
    rte_mempool_free(pool_);
  }

  // The session as control would install it: keys sorted, shared keys from the server side.
  void Install() { ASSERT_TRUE(main_->sessions().Install(InstallMessage(), now_ns_).ok()); }

  // What control sends for A and B's session: keys sorted, shared keys from the server side.
  ipc::InstallSession InstallMessage() const {
    ipc::InstallSession m;
    m.vni = kVni;
    m.client_keys = SortedPair(a_.key.pub, b_.key.pub);
    for (int i = 0; i < 2; ++i) {
      m.shared[i] = *ComputeSharedKey(m.client_keys[i], server_.priv);
    }
    m.server_key = server_.pub;
    m.bind_lifetime_ns = 30 * kSecond;
    m.steady_state_lifetime_ns = 300 * kSecond;
    return m;
  }

  // A and B's session installed, their MACs known and both legs bound by handshake.
  void OpenSession() {
    Install();
    LearnNeighbours();
    Handshake(a_, b_, 1);
    Handshake(b_, a_, 1);
  }

  void Inject(const std::vector<uint8_t>& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, frame.size()));
    std::memcpy(p, frame.data(), frame.size());
    ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
  }

  // One worker pass and one main-lcore pass, as the two loops would do.
  void Step() {
    worker_->Poll();
    main_->Poll(now_ns_);
  }

  std::vector<std::vector<uint8_t>> Sent(int queue) {
    std::vector<std::vector<uint8_t>> out;
    void* obj;
    while (rte_ring_dequeue(tx_[queue], &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      out.emplace_back(p, p + rte_pktmbuf_data_len(m));
      rte_pktmbuf_free(m);
    }
    return out;
  }

  uint64_t Counter(const std::string& name) {
    for (const auto& [n, v] : NamedCounters(main_->Counters())) {
      if (n == name) {
        return v;
      }
    }
    return 0;
  }

  Frame FromClient(const Client& c, std::vector<uint8_t> payload) const {
    Frame f;
    std::memcpy(f.src_mac, c.mac, 6);
    std::memcpy(f.dst_mac, port_.mac, 6);
    f.src_ip = c.ip;
    f.dst_ip = kRelayIp;
    f.ipv6 = c.v6;
    f.src_ip6 = c.ip6;
    f.dst_ip6 = kRelayIp6;
    f.src_port = c.port;
    f.dst_port = kRelayPort;
    f.payload = std::move(payload);
    return f;
  }

  std::vector<uint8_t> ArpRequest(const Client& c, uint32_t target) const {
    std::vector<uint8_t> f(42, 0);
    std::memset(f.data(), 0xff, 6);
    std::memcpy(&f[6], c.mac, 6);
    f[12] = 0x08, f[13] = 0x06;
    f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
    std::memcpy(&f[22], c.mac, 6);
    uint32_t sip = htonl(c.ip), tip = htonl(target);
    std::memcpy(&f[28], &sip, 4);
    std::memcpy(&f[38], &tip, 4);
    return f;
  }

  // An ICMP echo request from c to the relay (type 8, id 1, seq 1, "hi"), checksums valid.
  std::vector<uint8_t> EchoRequest(const Client& c) const {
    Frame f = FromClient(c, {8, 0, 0, 0, 0, 1, 0, 1, 'h', 'i'});
    f.protocol = 1;
    f.raw_l4 = true;
    return f.Build();
  }

  std::vector<uint8_t> Sealed(const Client& c, DiscoType type, uint32_t vni, uint32_t generation,
                              const DiscoKey& remote, const Challenge& challenge = {}) const {
    BindCommon bc{
        .vni = vni, .generation = generation, .remote_key = remote, .challenge = challenge};
    uint8_t clear[kBindMessageLen];
    EncodeBindMessage(type, bc, std::span<uint8_t, kBindMessageLen>(clear));
    std::vector<uint8_t> out(kGeneveHeaderLen);
    EXPECT_TRUE(
        EncodeGeneve({.control = true, .protocol = kGeneveProtocolDisco, .vni = vni}, out).ok());
    std::vector<uint8_t> box = SealDisco(c.with_server, c.key.pub, clear);
    out.insert(out.end(), box.begin(), box.end());
    return out;
  }

  std::vector<uint8_t> Data(uint32_t vni, const std::vector<uint8_t>& body) const {
    std::vector<uint8_t> out(kGeneveHeaderLen);
    EXPECT_TRUE(EncodeGeneve({.protocol = kGeneveProtocolWireGuard, .vni = vni}, out).ok());
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

  // Bind, read the Challenge, Answer it; returns the Challenge's cleartext fields.
  // The Answer goes answer_delay_ns after the Challenge (on the main lcore's clock).
  BindUdpRelayEndpointChallenge Handshake(const Client& c, const Client& peer, uint32_t gen,
                                          uint64_t answer_delay_ns = 0) {
    Inject(FromClient(c, Sealed(c, DiscoType::kBindUdpRelayEndpoint, kVni, gen, peer.key.pub))
               .Build());
    Step();
    std::vector<std::vector<uint8_t>> out = Sent(1);
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) {
      return {};
    }
    const size_t headers = c.v6 ? 62 : 42;
    std::span<const uint8_t> payload(out[0].data() + headers + kGeneveHeaderLen,
                                     out[0].size() - headers - kGeneveHeaderLen);
    absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(c.with_server, payload);
    EXPECT_TRUE(clear.ok());
    absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
    EXPECT_TRUE(msg.ok());
    auto ch = std::get<BindUdpRelayEndpointChallenge>(*msg);
    now_ns_ += answer_delay_ns;
    Inject(FromClient(c, Sealed(c, DiscoType::kBindUdpRelayEndpointAnswer, kVni, gen, peer.key.pub,
                                ch.challenge))
               .Build());
    Step();
    return ch;
  }

  void LearnNeighbours() {
    Inject(ArpRequest(a_, kRelayIp));
    Inject(ArpRequest(b_, kRelayIp));
    Step();
    EXPECT_EQ(Sent(1).size(), 2u);
  }

  bool ipv6_ = false;
  testing::RingPort ring_;
  PortInfo port_;
  rte_ring* rx_ = nullptr;
  rte_ring* tx_[2] = {};
  MainRings to_main_;
  rte_mempool* pool_ = nullptr;
  LcoreCounters counters_[2];
  std::unique_ptr<SessionTable> table_;
  std::unique_ptr<Neighbours> neighbours_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<MainLcore> main_;
  uint64_t now_ns_ = 1000 * kSecond;
  DiscoKeyPair server_;
  Client a_, b_;
};

}  // namespace dprelay
