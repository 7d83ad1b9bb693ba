// EAL tests of the exception interface (--exception_iface, DESIGN.md §3): traffic for the relay
// address that is not relay traffic reaches the kernel byte for byte, the kernel's frames leave
// through the NIC unchanged, and relay traffic, ARP and ICMP echo keep their own paths.
// ExceptionRingTest puts a second ring-backed port behind the exception path; ExceptionTapTest
// uses the real net_tap in a private network namespace, against the kernel's own TCP/IP stack.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/exception_path.h"
#include "dataplane/main_lcore.h"
#include "dataplane/worker.h"
#include "drivers/exception_port.h"
#include "drivers/port.h"
#include "tests/testutil/eal_main.h"
#include "tests/testutil/packet_builder.h"
#include "tests/testutil/ring_port.h"

namespace dprelay {
namespace {

using testing::Frame;
using testing::Ip;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kRelayPort = 40000;
const uint32_t kRelayIp = Ip(10, 77, 0, 1);
const uint32_t kIpA = Ip(10, 77, 0, 11);
constexpr uint8_t kMacA[6] = {0x02, 0xaa, 0, 0, 0, 0x0a};
// Ring sizes small enough that the tests can fill them: 31 and 15 usable slots.
constexpr unsigned kExceptionRing = 32;
constexpr unsigned kKernelRxRing = 16;

bool g_private_netns = false;  // main() moved the process into a network namespace of its own

uint16_t Checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  }
  if (n % 2 != 0) {
    sum += static_cast<uint32_t>(p[n - 1] << 8);
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

// TCP's pseudo-header sum over an Ethernet/IPv4 (no options) frame.
uint32_t PseudoSum(const Bytes& f) {
  const size_t l4_len = f.size() - 34;
  uint32_t s = 6 + static_cast<uint32_t>(l4_len);
  for (size_t i = 26; i < 34; i += 2) {
    s += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
  }
  return s;
}

// An Ethernet/IPv4/TCP segment with valid checksums and no options.
Bytes TcpFrame(const uint8_t* src_mac, const uint8_t* dst_mac, uint32_t sip, uint32_t dip,
               uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags) {
  Frame f;
  std::memcpy(f.src_mac, src_mac, 6);
  std::memcpy(f.dst_mac, dst_mac, 6);
  f.src_ip = sip;
  f.dst_ip = dip;
  f.protocol = 6;
  f.payload.assign(12, 0);  // the builder writes an 8-byte "UDP" header: 20 bytes of TCP in all
  Bytes b = f.Build();
  b[24] = b[25] = 0;
  const uint16_t ipsum = Checksum(&b[14], 20);
  b[24] = static_cast<uint8_t>(ipsum >> 8), b[25] = static_cast<uint8_t>(ipsum);
  uint8_t* t = &b[34];
  std::memset(t, 0, 20);
  t[0] = static_cast<uint8_t>(sport >> 8), t[1] = static_cast<uint8_t>(sport);
  t[2] = static_cast<uint8_t>(dport >> 8), t[3] = static_cast<uint8_t>(dport);
  const uint32_t seq_be = htonl(seq);
  std::memcpy(t + 4, &seq_be, 4);
  t[12] = 5 << 4;  // data offset: 20 bytes
  t[13] = flags;
  t[14] = 0xfa, t[15] = 0xf0;  // window 64240
  const uint16_t tcpsum = Checksum(t, 20, PseudoSum(b));
  t[16] = static_cast<uint8_t>(tcpsum >> 8), t[17] = static_cast<uint8_t>(tcpsum);
  return b;
}

Bytes ArpFrame(uint16_t op, const uint8_t* sha, uint32_t sip, const uint8_t* tha, uint32_t tip,
               const uint8_t* eth_dst) {
  Bytes f(42, 0);
  std::memcpy(&f[0], eth_dst, 6);
  std::memcpy(&f[6], sha, 6);
  f[12] = 0x08, f[13] = 0x06;
  f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4;
  f[20] = 0, f[21] = static_cast<uint8_t>(op);
  std::memcpy(&f[22], sha, 6);
  const uint32_t sip_be = htonl(sip), tip_be = htonl(tip);
  std::memcpy(&f[28], &sip_be, 4);
  std::memcpy(&f[32], tha, 6);
  std::memcpy(&f[38], &tip_be, 4);
  return f;
}

std::vector<Bytes> DrainRing(rte_ring* r) {
  std::vector<Bytes> out;
  void* obj;
  while (rte_ring_dequeue(r, &obj) == 0) {
    auto* m = static_cast<rte_mbuf*>(obj);
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    out.emplace_back(p, p + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

// The NIC (ring-backed, as relay_eal_test), one worker, the main lcore and an exception path
// whose device the subclass provides.
class ExceptionTestBase : public ::testing::Test {
 protected:
  void SetUpNic() {
    static int instance = 0;
    n_ = std::to_string(instance++);
    absl::StatusOr<testing::RingPort> ring = testing::MakeRingPort("xnic" + n_, 1, 2);
    ASSERT_TRUE(ring.ok()) << ring.status();
    nic_ring_ = *ring;
    rx_ = nic_ring_.rx[0];
    tx_[0] = nic_ring_.tx[0];
    tx_[1] = nic_ring_.tx[1];
    nic_ = nic_ring_.port;
    // Ring ports have an all-zero MAC; give the "NIC" a real one (the tap refuses zero).
    static constexpr uint8_t kNicMac[6] = {0x02, 0xdd, 0, 0, 0, 0x01};
    std::memcpy(nic_.mac, kNicMac, 6);
    pool_ =
        rte_pktmbuf_pool_create(("xinject" + n_).c_str(), 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);
    absl::StatusOr<MainRings> rings = MainRings::Create("xmain" + n_);
    ASSERT_TRUE(rings.ok()) << rings.status();
    to_main_ = *rings;
    to_exception_ = rte_ring_create(("xexc" + n_).c_str(), kExceptionRing, 0, RING_F_SC_DEQ);
    ASSERT_NE(to_exception_, nullptr);
  }

  // Everything else, once the exception device exists.
  // ipv6: the relay also has fd77::1/64.
  void SetUpPaths(uint16_t exception_port, bool ipv6 = false) {
    table_ = std::make_unique<SessionTable>(1024, 1, ipv6);
    NextHopConfig hops{.v4 = Ipv4Subnet{htonl(kRelayIp), 24}};
    LocalIdentity local{
        .ip_be = htonl(kRelayIp), .port_be = htons(kRelayPort), .port_id = nic_.port_id};
    std::memcpy(local.mac.data(), nic_.mac, 6);
    if (ipv6) {
      hops.v6 = Ipv6Subnet{testing::Ip6("fd77::1"), 64};
      local.ipv6 = true;
      local.ip6 = testing::Ip6("fd77::1");
      local.ll6 = LinkLocalFromMac(local.mac);
    }
    neighbours_ = std::make_unique<Neighbours>(hops);
    exception_ = std::make_unique<ExceptionPath>(ExceptionPathContext{
        .tap_port_id = exception_port,
        .from_workers = to_exception_,
        .nic_tx = MainTx{.port_id = nic_.port_id, .queue = 1, .counters = &counters_[1]},
        .counters = &counters_[1]});
    WorkerContext wc{.port_id = nic_.port_id,
                     .table = table_.get(),
                     .counters = &counters_[0],
                     .to_main = to_main_,
                     .to_exception = to_exception_,
                     .local_ip_be = local.ip_be,
                     .relay_port_be = local.port_be};
    SetWorkerIpv6(local, &wc);
    worker_ = std::make_unique<Worker>(wc);
    main_ = std::make_unique<MainLcore>(MainLcoreContext{.local = local,
                                                         .tx_queue = 1,
                                                         .lcore_index = 1,
                                                         .counters = &counters_[1],
                                                         .from_workers = to_main_,
                                                         .pool = nic_.pool,
                                                         .exception = exception_.get(),
                                                         .capacity = 1024},
                                        table_.get(), neighbours_.get(), nullptr);
    main_->set_all_counters(counters_, 2);
  }

  void TearDownNic() {
    main_.reset();
    worker_.reset();
    exception_.reset();
    to_main_.Free();
    testing::FreeRingPort(nic_ring_);
    rte_mempool_free(pool_);
    rte_ring_free(to_exception_);
  }

  void Inject(const Bytes& frame) { ASSERT_EQ(rte_ring_enqueue(rx_, Mbuf(frame)), 0); }

  rte_mbuf* Mbuf(const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    return m;
  }

  // The three polls of a dataplane pass: worker, main lcore, exception path.
  void Step() {
    worker_->Poll();
    main_->Poll(now_ns_);
    exception_->Poll();
  }

  uint64_t Counter(const std::string& name) {
    for (const auto& [n, v] : NamedCounters(main_->Counters())) {
      if (n == name) {
        return v;
      }
    }
    return 0;
  }

  Frame Udp(uint16_t dport, Bytes payload) const {
    Frame f;
    std::memcpy(f.src_mac, kMacA, 6);
    std::memcpy(f.dst_mac, nic_.mac, 6);
    f.src_ip = kIpA;
    f.dst_ip = kRelayIp;
    f.src_port = 5001;
    f.dst_port = dport;
    f.payload = std::move(payload);
    return f;
  }

  std::string n_;
  testing::RingPort nic_ring_;
  PortInfo nic_;
  rte_ring* rx_ = nullptr;
  rte_ring* tx_[2] = {};
  MainRings to_main_;
  rte_ring* to_exception_ = nullptr;
  rte_mempool* pool_ = nullptr;
  LcoreCounters counters_[2];
  std::unique_ptr<SessionTable> table_;
  std::unique_ptr<Neighbours> neighbours_;
  std::unique_ptr<ExceptionPath> exception_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<MainLcore> main_;
  uint64_t now_ns_ = 1'000'000'000'000;
};

// The exception device is a ring port: kernel_in_ is what "the kernel" receives, kernel_out_
// what it sends.
class ExceptionRingTest : public ExceptionTestBase {
 protected:
  void SetUp() override {
    SetUpNic();
    SetUpKernelRing(false);
  }
  void SetUpKernelRing(bool ipv6) {
    // The kernel's side: it receives on the port's TX ring (small, so tests can fill it).
    absl::StatusOr<testing::RingPort> ring =
        testing::MakeRingPort("xkern" + n_, 1, 1, kKernelRxRing, 2048);
    ASSERT_TRUE(ring.ok()) << ring.status();
    kernel_ring_ = *ring;
    kernel_out_ = kernel_ring_.rx[0];
    kernel_in_ = kernel_ring_.tx[0];
    kernel_ = kernel_ring_.port;
    SetUpPaths(kernel_.port_id, ipv6);
  }
  void TearDown() override {
    TearDownNic();
    testing::FreeRingPort(kernel_ring_);
  }

  testing::RingPort kernel_ring_;
  PortInfo kernel_;
  rte_ring* kernel_in_ = nullptr;
  rte_ring* kernel_out_ = nullptr;
};

// The same relay with an IPv6 address as well.
class ExceptionRingIpv6Test : public ExceptionRingTest {
 protected:
  void SetUp() override {
    SetUpNic();
    SetUpKernelRing(true);
  }
};

TEST_F(ExceptionRingIpv6Test, Ipv6NonRelayTrafficAndAdvertisementsToUsReachTheKernel) {
  Frame udp = Udp(22, {9, 9});
  udp.ipv6 = true;
  udp.src_ip6 = testing::Ip6("fd77::11");
  udp.dst_ip6 = testing::Ip6("fd77::1");
  Frame tcp = udp;
  tcp.protocol = 6;
  tcp.raw_l4 = true;
  tcp.payload.assign(20, 0);
  // A's advertisement of its own address, answering the kernel's solicitation.
  Frame na = udp;
  na.protocol = 58;
  na.raw_l4 = true;
  na.ttl = 255;
  na.payload = {136, 0, 0, 0, 0x60, 0, 0, 0};
  const auto a6 = testing::Ip6("fd77::11");
  na.payload.insert(na.payload.end(), a6.begin(), a6.end());
  na.payload.insert(na.payload.end(), {2, 1});
  na.payload.insert(na.payload.end(), kMacA, kMacA + 6);
  const Bytes frames[] = {udp.Build(), tcp.Build(), na.Build()};
  for (const Bytes& f : frames) {
    Inject(f);
  }
  Step();
  const std::vector<Bytes> got = DrainRing(kernel_in_);
  ASSERT_EQ(got.size(), 3u);
  // The main lcore hands the advertisement over as it learns from it, before the exception
  // path drains the workers' ring.
  EXPECT_EQ(got[0], frames[2]);
  EXPECT_EQ(got[1], frames[0]);
  EXPECT_EQ(got[2], frames[1]);
  EXPECT_EQ(Counter("to_exception"), 2u);
  EXPECT_EQ(Counter("exception_to_kernel"), 3u);
  // The dataplane never asked about A: an advertisement it did not solicit teaches it nothing
  // (RFC 4861 7.2.5), though it reaches the kernel, whose solicitation it answers.
  EXPECT_FALSE(neighbours_->Lookup(IpAddr::V6(a6.data())).has_value());
  // Once the dataplane has asked, the same advertisement is learned (and still handed over).
  ASSERT_TRUE(neighbours_->ShouldRequest(IpAddr::V6(a6.data()), now_ns_));
  Inject(frames[2]);
  Step();
  EXPECT_EQ(DrainRing(kernel_in_).size(), 1u);
  EXPECT_TRUE(neighbours_->Lookup(IpAddr::V6(a6.data())).has_value());
}

TEST_F(ExceptionRingTest, TcpAndOtherUdpPortsReachTheKernelByteForByte) {
  const Bytes syn = TcpFrame(kMacA, nic_.mac, kIpA, kRelayIp, 40123, 8080, 1000, 0x02);
  const Bytes alloc = Udp(40001, {0x54, 0x53, 1, 2, 3}).Build();  // the allocation port
  const Bytes ssh = Udp(22, {9, 9}).Build();
  Inject(syn);
  Inject(alloc);
  Inject(ssh);
  Step();
  const std::vector<Bytes> got = DrainRing(kernel_in_);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], syn);
  EXPECT_EQ(got[1], alloc);
  EXPECT_EQ(got[2], ssh);
  EXPECT_TRUE(DrainRing(tx_[0]).empty());
  EXPECT_TRUE(DrainRing(tx_[1]).empty());
  EXPECT_EQ(Counter("rx_packets"), 3u);
  EXPECT_EQ(Counter("to_exception"), 3u);
  EXPECT_EQ(Counter("exception_to_kernel"), 3u);
  EXPECT_EQ(Counter("drop_unsupported_l4"), 0u);
  EXPECT_EQ(Counter("drop_not_relay_port"), 0u);
}

TEST_F(ExceptionRingTest, KernelFramesLeaveThroughTheNicUnchanged) {
  const Bytes synack = TcpFrame(nic_.mac, kMacA, kRelayIp, kIpA, 8080, 40123, 5000, 0x12);
  static constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static constexpr uint8_t kZero[6] = {};
  const Bytes who_has = ArpFrame(1, nic_.mac, kRelayIp, kZero, kIpA, kBroadcast);
  ASSERT_EQ(rte_ring_enqueue(kernel_out_, Mbuf(synack)), 0);
  ASSERT_EQ(rte_ring_enqueue(kernel_out_, Mbuf(who_has)), 0);
  Step();
  const std::vector<Bytes> sent = DrainRing(tx_[1]);  // the main lcore's TX queue
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0], synack);
  EXPECT_EQ(sent[1], who_has);
  EXPECT_TRUE(DrainRing(kernel_in_).empty());
  EXPECT_EQ(Counter("exception_from_kernel"), 2u);
  EXPECT_EQ(Counter("tx_packets"), 2u);
}

TEST_F(ExceptionRingTest, RelayTrafficArpRequestsAndEchoKeepTheirOwnPaths) {
  static constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static constexpr uint8_t kZero[6] = {};
  Inject(ArpFrame(1, kMacA, kIpA, kZero, kRelayIp, kBroadcast));  // answered by the dataplane
  Bytes geneve = {0, 0, 0x7a, 0x12, 0, 0, 7, 0, 1, 2};            // data for VNI 7: not live
  Inject(Udp(kRelayPort, geneve).Build());
  Step();
  const std::vector<Bytes> sent = DrainRing(tx_[1]);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][21], 2);  // the dataplane's ARP reply
  EXPECT_TRUE(DrainRing(kernel_in_).empty());
  EXPECT_EQ(Counter("arp_replies"), 1u);
  EXPECT_EQ(Counter("drop_unknown_vni"), 1u);
  EXPECT_EQ(Counter("to_exception"), 0u);
}

TEST_F(ExceptionRingTest, ArpRepliesToUsAreLearnedAndGivenToTheKernelToo) {
  const Bytes is_at = ArpFrame(2, kMacA, kIpA, nic_.mac, kRelayIp, nic_.mac);
  Inject(is_at);
  Step();
  const std::vector<Bytes> got = DrainRing(kernel_in_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], is_at);
  std::optional<MacAddr> learned = neighbours_->Lookup(IpAddr::V4FromBe(htonl(kIpA)));
  ASSERT_TRUE(learned.has_value());
  EXPECT_EQ(0, std::memcmp(learned->data(), kMacA, 6));
  EXPECT_EQ(Counter("exception_to_kernel"), 1u);
  EXPECT_TRUE(DrainRing(tx_[1]).empty());
}

TEST_F(ExceptionRingTest, WhatIsNotOursOrMalformedIsStillDroppedByName) {
  Bytes not_ours = TcpFrame(kMacA, nic_.mac, kIpA, Ip(10, 77, 0, 99), 1, 22, 1, 0x02);
  Bytes frag = TcpFrame(kMacA, nic_.mac, kIpA, kRelayIp, 1, 22, 1, 0x02);
  frag[20] = 0x20;  // MF
  Bytes bad_udp = Udp(22, {1, 2, 3}).Build();
  bad_udp[38] = 0x10;  // UDP length beyond the IP payload
  Inject(not_ours);
  Inject(frag);
  Inject(bad_udp);
  Step();
  EXPECT_TRUE(DrainRing(kernel_in_).empty());
  EXPECT_EQ(Counter("drop_not_local"), 1u);
  EXPECT_EQ(Counter("drop_ip_fragment"), 1u);
  EXPECT_EQ(Counter("drop_udp_bad_length"), 1u);
  EXPECT_EQ(Counter("to_exception"), 0u);
}

TEST_F(ExceptionRingTest, IcmpAboutTheKernelsOwnTrafficReachesItOtherIcmpDoesNot) {
  // "Fragmentation needed" (path MTU discovery), an echo reply to the kernel's own ping, and a
  // redirect, which is nobody's business here.
  Frame icmp = Udp(0, {});
  icmp.protocol = 1;
  icmp.raw_l4 = true;
  auto with_type = [&](uint8_t type, uint8_t code) {
    Frame f = icmp;
    f.payload = {type, code, 0, 0, 0, 0, 0x05, 0xdc};  // (checksum unchecked), MTU 1500
    return f.Build();
  };
  const Bytes frag_needed = with_type(3, 4), echo_reply = with_type(0, 0);
  Inject(frag_needed);
  Inject(echo_reply);
  Inject(with_type(5, 1));
  Step();
  const std::vector<Bytes> got = DrainRing(kernel_in_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], frag_needed);
  EXPECT_EQ(got[1], echo_reply);
  EXPECT_EQ(Counter("drop_icmp_not_echo"), 1u);
}

TEST_F(ExceptionRingIpv6Test, PacketTooBigReachesTheKernel) {
  Frame ptb = Udp(0, {});
  ptb.ipv6 = true;
  ptb.src_ip6 = testing::Ip6("fd77::11");
  ptb.dst_ip6 = testing::Ip6("fd77::1");
  ptb.protocol = 58;
  ptb.raw_l4 = true;
  ptb.payload = {2, 0, 0, 0, 0, 0, 0x05, 0x00};  // packet too big, MTU 1280
  const Bytes frame = ptb.Build();
  Inject(frame);
  Step();
  const std::vector<Bytes> got = DrainRing(kernel_in_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], frame);
}

TEST_F(ExceptionRingTest, FullRingsAreCountedAndNothingLeaks) {
  const unsigned pool_before = rte_mempool_avail_count(pool_);
  const Bytes syn = TcpFrame(kMacA, nic_.mac, kIpA, kRelayIp, 40123, 8080, 1, 0x02);
  // One worker burst of 32 into a ring with 31 free slots.
  for (unsigned i = 0; i < kBurstSize; ++i) {
    Inject(syn);
  }
  worker_->Poll();
  EXPECT_EQ(Counter("to_exception"), kExceptionRing - 1);
  EXPECT_EQ(Counter("drop_exception_ring_full"), 1u);
  // The exception path moves 31 towards a kernel ring with room for 15.
  exception_->Poll();
  EXPECT_EQ(Counter("exception_to_kernel"), kKernelRxRing - 1);
  EXPECT_EQ(Counter("drop_exception_tx_full"), kExceptionRing - kKernelRxRing);
  EXPECT_EQ(DrainRing(kernel_in_).size(), kKernelRxRing - 1);
  EXPECT_EQ(rte_mempool_avail_count(pool_), pool_before);
}

TEST_F(ExceptionRingTest, WithoutAnExceptionPathTheSameTrafficIsADropByName) {
  Worker plain(WorkerContext{.port_id = nic_.port_id,
                             .table = table_.get(),
                             .counters = &counters_[0],
                             .to_main = to_main_,
                             .local_ip_be = htonl(kRelayIp),
                             .relay_port_be = htons(kRelayPort)});
  Inject(TcpFrame(kMacA, nic_.mac, kIpA, kRelayIp, 40123, 8080, 1, 0x02));
  Inject(Udp(22, {1}).Build());
  plain.Poll();
  exception_->Poll();
  EXPECT_TRUE(DrainRing(kernel_in_).empty());
  EXPECT_EQ(Counter("drop_unsupported_l4"), 1u);
  EXPECT_EQ(Counter("drop_not_relay_port"), 1u);
}

// The real net_tap, in the private network namespace main() made: the kernel's TCP/IP stack
// answers through the dataplane.
class ExceptionTapTest : public ExceptionTestBase {
 protected:
  static constexpr const char* kIface = "dpxtest0";

  void SetUp() override {
    // scripts/test.sh runs as root on a machine with /dev/net/tun (the integration tier needs
    // both too): without them this is a failure, not a quiet pass.
    ASSERT_TRUE(g_private_netns) << "needs root: unshare(CLONE_NEWNET) failed";
    ASSERT_EQ(access("/dev/net/tun", R_OK | W_OK), 0) << "/dev/net/tun is not available";
    SetUpNic();
    ExceptionPortConfig ec{.iface = kIface, .addr_be = htonl(kRelayIp), .prefix_len = 24};
    std::memcpy(ec.mac, nic_.mac, 6);
    absl::StatusOr<PortInfo> tap = BringUpExceptionPort(ec);
    ASSERT_TRUE(tap.ok()) << tap.status();
    tap_ = *tap;
    tap_up_ = true;
    SetUpPaths(tap_.port_id);
  }
  void TearDown() override {
    if (rx_ == nullptr) {
      return;  // SetUp stopped before the NIC existed
    }
    TearDownNic();
    if (tap_up_) {
      ShutDownPort(tap_);
    }
  }

  // Polls the dataplane until the NIC's main TX queue has sent a frame that matches, or 2 s.
  template <typename Pred>
  std::optional<Bytes> AwaitSent(Pred match) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
      Step();
      for (Bytes& f : DrainRing(tx_[1])) {
        if (match(f)) {
          return f;
        }
      }
      usleep(1000);
    }
    return std::nullopt;
  }

  PortInfo tap_;
  bool tap_up_ = false;
};

TEST_F(ExceptionTapTest, TheKernelSideHasTheNicsMacAndTheRelayAddress) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, kIface, IFNAMSIZ - 1);
  ASSERT_EQ(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
  EXPECT_EQ(0, std::memcmp(ifr.ifr_hwaddr.sa_data, nic_.mac, 6));
  ASSERT_EQ(ioctl(fd, SIOCGIFADDR, &ifr), 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr)->sin_addr.s_addr, htonl(kRelayIp));
  ASSERT_EQ(ioctl(fd, SIOCGIFNETMASK, &ifr), 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&ifr.ifr_netmask)->sin_addr.s_addr, htonl(0xffffff00));
  ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
  EXPECT_NE(ifr.ifr_flags & IFF_UP, 0);
  close(fd);
}

TEST_F(ExceptionTapTest, AKernelListenerAnswersAHealthCheckSynThroughTheNic) {
  // A TCP listener on the relay address, as control's health endpoint would be.
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(8080);
  sa.sin_addr.s_addr = htonl(kRelayIp);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << strerror(errno);
  ASSERT_EQ(listen(lfd, 4), 0);
  // What the kernel receives on the tap, seen by a packet socket.
  int pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  ASSERT_GE(pfd, 0);
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = static_cast<int>(if_nametoindex(kIface));
  ASSERT_EQ(bind(pfd, reinterpret_cast<sockaddr*>(&ll), sizeof(ll)), 0);

  const Bytes syn = TcpFrame(kMacA, nic_.mac, kIpA, kRelayIp, 40123, 8080, 1000, 0x02);
  Inject(syn);
  // The kernel needs A's MAC to answer: its ARP request leaves through the NIC.
  std::optional<Bytes> who_has = AwaitSent([](const Bytes& f) {
    uint32_t tip;
    std::memcpy(&tip, &f[38], 4);
    return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 && tip == htonl(kIpA);
  });
  ASSERT_TRUE(who_has.has_value());
  EXPECT_EQ(0, std::memcmp(&(*who_has)[6], nic_.mac, 6));   // from the NIC's MAC
  EXPECT_EQ(0, std::memcmp(&(*who_has)[22], nic_.mac, 6));  // sender hardware address
  uint32_t spa;
  std::memcpy(&spa, &(*who_has)[28], 4);
  EXPECT_EQ(spa, htonl(kRelayIp));
  // The SYN the kernel received is the one A sent, byte for byte.
  bool seen_syn = false;
  uint8_t buf[2048];
  for (int i = 0; i < 16; ++i) {
    sockaddr_ll from{};
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(pfd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                         &from_len);
    if (n < 0) {
      break;
    }
    if (from.sll_pkttype != PACKET_OUTGOING && Bytes(buf, buf + n) == syn) {
      seen_syn = true;
    }
  }
  EXPECT_TRUE(seen_syn);

  // A answers; the dataplane learns it and gives the reply to the kernel, which sends the
  // SYN-ACK it was holding.
  Inject(ArpFrame(2, kMacA, kIpA, nic_.mac, kRelayIp, nic_.mac));
  std::optional<Bytes> synack = AwaitSent([](const Bytes& f) {
    return f.size() >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6;
  });
  ASSERT_TRUE(synack.has_value());
  const Bytes& s = *synack;
  EXPECT_EQ(0, std::memcmp(&s[0], kMacA, 6));
  EXPECT_EQ(0, std::memcmp(&s[6], nic_.mac, 6));
  uint32_t src, dst;
  std::memcpy(&src, &s[26], 4);
  std::memcpy(&dst, &s[30], 4);
  EXPECT_EQ(src, htonl(kRelayIp));
  EXPECT_EQ(dst, htonl(kIpA));
  EXPECT_EQ(s[34] << 8 | s[35], 8080);
  EXPECT_EQ(s[36] << 8 | s[37], 40123);
  EXPECT_EQ(s[47], 0x12);  // SYN+ACK
  uint32_t ack;
  std::memcpy(&ack, &s[42], 4);
  EXPECT_EQ(ntohl(ack), 1001u);
  const size_t ip_len = static_cast<size_t>(s[16] << 8 | s[17]);
  EXPECT_EQ(Checksum(&s[14], 20), 0);  // a complete IPv4 header checksum
  Bytes l4(s.begin() + 34, s.begin() + 14 + static_cast<long>(ip_len));
  Bytes pseudo_frame(s.begin(), s.begin() + 14 + static_cast<long>(ip_len));
  EXPECT_EQ(Checksum(l4.data(), l4.size(), PseudoSum(pseudo_frame)), 0)
      << "the kernel left the TCP checksum unfinished";
  EXPECT_GE(Counter("exception_to_kernel"), 2u);
  EXPECT_GE(Counter("exception_from_kernel"), 2u);
  close(pfd);
  close(lfd);
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) {
  // A network namespace of our own, before EAL starts threads: the tap and everything the
  // kernel does with it stay inside it and vanish with the process.
  dprelay::g_private_netns = unshare(CLONE_NEWNET) == 0;
  if (dprelay::g_private_netns) {
    // No IPv6 chatter (router solicitations, MLD) from the tap in the captures.
    std::ofstream("/proc/sys/net/ipv6/conf/default/disable_ipv6") << "1\n";
  }
  return dprelay::testing::RunEalTests(argc, argv, "0");
}
