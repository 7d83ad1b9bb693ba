// The relay under hostile traffic, on ring-backed ports (docs/SECURITY.md): junk and spoofed
// packets cost no legitimate client its binding, answers to unauthenticated packets are
// bounded, martian addresses never get a Challenge or a leg, and a flood of one class of work
// cannot starve the others.
#include "tests/eal/relay_fixture.h"
#include "tests/testutil/eal_main.h"

namespace dprelay {
namespace {

// A control packet for kVni whose wrapper names `sender` but whose box is garbage: anyone who
// saw a client's key on the wire can make one, and spoof it from the client's address.
std::vector<uint8_t> Junk(const DiscoKey& sender, uint8_t fill) {
  std::vector<uint8_t> out(kGeneveHeaderLen);
  EXPECT_TRUE(
      EncodeGeneve({.control = true, .protocol = kGeneveProtocolDisco, .vni = kVni}, out).ok());
  out.insert(out.end(), kDiscoMagic.begin(), kDiscoMagic.end());
  out.insert(out.end(), sender.bytes.begin(), sender.bytes.end());
  out.resize(kChallengePacketLen, fill);  // as long as a Bind
  return out;
}

class HostileEalTest : public RelayEalTest {
 protected:
  // n frames through the worker and the main lcore, a burst at a time.
  void InjectAll(const std::vector<std::vector<uint8_t>>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      Inject(frames[i]);
      if (i % kBurstSize == kBurstSize - 1) {
        Step();
      }
    }
    Step();
  }
  size_t Challenges(const std::vector<std::vector<uint8_t>>& sent) const {
    size_t n = 0;
    for (const auto& f : sent) {
      n += f.size() == 42 + kChallengePacketLen && f[23] == 17 ? 1 : 0;
    }
    return n;
  }
};

TEST_F(HostileEalTest, JunkSpoofedFromAClientsOwnAddressDoesNotLockItOut) {
  Install();
  LearnNeighbours();
  // Thousands of junk control packets "from" A, at A's own port and at another: each costs a
  // failed box open and earns nothing, least of all a charge against A.
  std::vector<std::vector<uint8_t>> junk;
  for (int i = 0; i < 1000; ++i) {
    Frame f = FromClient(a_, Junk(a_.key.pub, static_cast<uint8_t>(i)));
    f.src_port = i % 2 == 0 ? a_.port : static_cast<uint16_t>(a_.port + 1);
    junk.push_back(f.Build());
  }
  InjectAll(junk);
  EXPECT_EQ(Counter("drop_open_failed"), 1000u);
  EXPECT_TRUE(Sent(1).empty());
  // A binds at once, with no wait for any budget to refill.
  Handshake(a_, b_, 1);
  Handshake(b_, a_, 1);
  EXPECT_EQ(Counter("legs_bound"), 2u);
  Inject(FromClient(a_, Data(kVni, {1, 2, 3})).Build());
  Step();
  EXPECT_EQ(Sent(0).size(), 1u);
}

TEST_F(HostileEalTest, WhenBehindOneLegsJunkCostsAtMostItsBudgetOfBoxOpens) {
  Install();
  LearnNeighbours();
  // 1000 junk packets under A's key reach the handshake ring before the main lcore runs (a
  // flood it cannot keep up with), then B's Bind.
  for (int i = 0; i < 1000; ++i) {
    Frame f = FromClient(a_, Junk(a_.key.pub, static_cast<uint8_t>(i)));
    f.src_port = static_cast<uint16_t>(20000 + i);
    Inject(f.Build());
  }
  Inject(FromClient(b_, Sealed(b_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, a_.key.pub)).Build());
  while (rte_ring_count(rx_) != 0) {
    worker_->Poll();
  }
  ASSERT_EQ(rte_ring_count(to_main_[MainClass::kHandshake]), 1001u);
  while (rte_ring_count(to_main_[MainClass::kHandshake]) != 0) {
    main_->Poll(now_ns_);
  }
  // While 512 or more waited (16 polls of 32: 512 packets), A's leg had 32 opens; the other
  // 480 were dropped unopened. The last 488 junk packets came with no backlog: all opened.
  EXPECT_EQ(Counter("drop_handshake_open_limited"), 480u);
  EXPECT_EQ(Counter("drop_open_failed"), 32u + 488u);
  // B's leg was never charged: its Bind got its Challenge.
  EXPECT_EQ(Challenges(Sent(1)), 1u);
  // And with no backlog A binds at once, in the same second.
  Handshake(a_, b_, 1);
  EXPECT_EQ(Counter("legs_bound"), 1u);
}

TEST_F(HostileEalTest, PastTwentyThousandOpensASecondEachLegIsHeldToItsBudget) {
  Install();
  LearnNeighbours();
  // A flood under A's key that the main lcore keeps up with (no backlog: a step per burst),
  // within one second: the first 20,000 are opened, then A's leg has its 32, then no more.
  std::vector<std::vector<uint8_t>> junk;
  for (int i = 0; i < 21000; ++i) {
    Frame f = FromClient(a_, Junk(a_.key.pub, static_cast<uint8_t>(i)));
    f.src_port = static_cast<uint16_t>(20000 + i % 30000);
    junk.push_back(f.Build());
  }
  InjectAll(junk);
  EXPECT_EQ(Counter("drop_open_failed"), 20000u + 32u);
  EXPECT_EQ(Counter("drop_handshake_open_limited"), 1000u - 32u);
  // B's leg has its own budget: it binds in the same second.
  Handshake(b_, a_, 1);
  EXPECT_EQ(Counter("legs_bound"), 1u);
  // The next second A binds too.
  now_ns_ += kSecond;
  Handshake(a_, b_, 1);
  EXPECT_EQ(Counter("legs_bound"), 2u);
}

TEST_F(HostileEalTest, ChallengesAreBoundedPerDestinationAndSessionNotBySource) {
  Install();
  LearnNeighbours();
  // Replayed (or retransmitted) Binds of A at one instant: bursts of 20 Challenges reach A's
  // address for this session, the rest are dropped by name. Binds cost nothing to replay; what
  // they make the relay send is what is bounded.
  std::vector<std::vector<uint8_t>> binds;
  for (uint32_t i = 0; i < 50; ++i) {
    binds.push_back(
        FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 7, b_.key.pub)).Build());
  }
  InjectAll(binds);
  EXPECT_EQ(Challenges(Sent(1)), 20u);
  EXPECT_EQ(Counter("drop_challenge_limited_dest"), 30u);
  EXPECT_EQ(Counter("challenges_sent"), 20u);
  // B, another destination, is unaffected.
  Handshake(b_, a_, 1);
  EXPECT_EQ(Counter("legs_bound"), 1u);
  // A second later A's address has its rate's worth again.
  now_ns_ += kSecond;
  Handshake(a_, b_, 2);
  EXPECT_EQ(Counter("legs_bound"), 2u);
}

TEST_F(HostileEalTest, BindsFromMartianSourcesGetNoChallengeAndNoLeg) {
  Install();
  LearnNeighbours();
  const struct {
    uint32_t ip;
    uint16_t port;
    const char* counter;
  } martians[] = {
      {kRelayIp, 5001, "drop_martian_self"},
      {Ip(255, 255, 255, 255), 5001, "drop_martian_broadcast"},
      {Ip(10, 77, 0, 255), 5001, "drop_martian_broadcast"},  // the relay subnet's broadcast
      {Ip(224, 0, 0, 1), 5001, "drop_martian_multicast"},
      {Ip(0, 0, 0, 0), 5001, "drop_martian_unspecified"},
      {Ip(127, 0, 0, 1), 5001, "drop_martian_loopback"},
      {kIpA, 0, "drop_martian_port_zero"},
  };
  for (const auto& m : martians) {
    const uint64_t before = Counter(m.counter);
    Frame f = FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub));
    f.src_ip = m.ip;
    f.src_port = m.port;
    Inject(f.Build());
    Step();
    EXPECT_EQ(Counter(m.counter), before + 1) << m.counter;
    EXPECT_TRUE(Sent(1).empty()) << m.counter;
  }
  EXPECT_EQ(Counter("challenges_sent"), 0u);
  // An endpoint control advertises (an NLB's static address, ipc::Advertised): a leg there
  // would loop through the load balancer.
  main_->sessions().set_advertised({a_.addr()});
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub)).Build());
  Step();
  EXPECT_EQ(Counter("drop_martian_advertised"), 1u);
  EXPECT_TRUE(Sent(1).empty());
  main_->sessions().set_advertised({});
  // A re-install (control after a restart) naming a martian leg leaves that leg unbound.
  ipc::InstallSession m = InstallMessage();
  m.bound = {AddrPort{IpAddr::V4FromBe(htonl(kRelayIp)), 5001}, a_.addr()};
  ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  Inject(FromClient(a_, Data(kVni, {1})).Build());
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_not_bound"), 1u);
}

TEST_F(HostileEalTest, AnIcmpFloodFillsOnlyItsOwnRingAndBindsStillGetThrough) {
  Install();
  LearnNeighbours();
  // More echo requests than all the main lcore's rings together hold, with no main-lcore
  // pass in between (it is busy), then one Bind.
  for (int i = 0; i < 1000; ++i) {
    Inject(EchoRequest(a_));
    if (i % kBurstSize == kBurstSize - 1) worker_->Poll();
  }
  worker_->Poll();
  EXPECT_GT(Counter("drop_icmp_ring_full"), 700u);
  Inject(FromClient(b_, Sealed(b_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, a_.key.pub)).Build());
  worker_->Poll();
  EXPECT_EQ(Counter("to_main_handshake"), 1u);
  for (int i = 0; i < 40; ++i) main_->Poll(now_ns_);
  const std::vector<std::vector<uint8_t>> sent = Sent(1);
  EXPECT_EQ(Challenges(sent), 1u);
  // And the echo replies to A were bounded: a burst of 50, the rest dropped by name.
  EXPECT_EQ(Counter("icmp_echo_replies"), 50u);
  EXPECT_EQ(Counter("drop_icmp_limited_dest"), Counter("to_main_icmp") - 50);
}

TEST_F(HostileEalTest, ArpAnswersAreBoundedPerAskerAndSpoofsOfOurAddressAreNotLearned) {
  std::vector<std::vector<uint8_t>> asks(60, ArpRequest(a_, kRelayIp));
  InjectAll(asks);
  Step();
  EXPECT_EQ(Sent(1).size(), 50u);
  EXPECT_EQ(Counter("drop_neighbour_limited_dest"), 10u);
  // Someone on the link claims the relay's own address, and the gateway's from a broadcast MAC.
  Client liar = b_;
  liar.ip = kRelayIp;
  Inject(ArpRequest(liar, kRelayIp));
  static constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  Client flood = b_;
  flood.mac = kBroadcast;
  Inject(ArpRequest(flood, kRelayIp));
  Step();
  EXPECT_TRUE(Sent(1).empty());
  EXPECT_EQ(Counter("drop_neighbour_own_address"), 1u);
  EXPECT_EQ(Counter("drop_neighbour_bad_mac"), 1u);
  EXPECT_FALSE(neighbours_->Lookup(IpAddr::V4FromBe(htonl(kRelayIp))).has_value());
  EXPECT_FALSE(neighbours_->Lookup(IpAddr::V4FromBe(htonl(kIpB))).has_value());
}

TEST_F(HostileEalTest, AFullHandshakeRingIsCountedAndLeaksNothing) {
  Install();
  while (rte_ring_free_count(to_main_[MainClass::kHandshake]) > 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    rte_ring_enqueue(to_main_[MainClass::kHandshake], m);
  }
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub)).Build());
  worker_->Poll();
  EXPECT_EQ(Counter("drop_handshake_ring_full"), 1u);
}

TEST_F(HostileEalTest, AFrameInSeveralSegmentsIsDroppedByItsOwnName) {
  OpenSession();
  // A data packet that a scattering NIC (or a jumbo frame) delivered in two segments: the
  // relay reads headers from the first segment only, so it is a drop of its own.
  const std::vector<uint8_t> frame =
      FromClient(a_, Data(kVni, std::vector<uint8_t>(100, 7))).Build();
  rte_mbuf* head = rte_pktmbuf_alloc(pool_);
  rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
  ASSERT_TRUE(head != nullptr && tail != nullptr);
  std::memcpy(rte_pktmbuf_append(head, 60), frame.data(), 60);
  std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(frame.size() - 60)), frame.data() + 60,
              frame.size() - 60);
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  ASSERT_EQ(rte_ring_enqueue(rx_, head), 0);
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_chained_mbuf"), 1u);
  EXPECT_EQ(Counter("drop_ip_bad_total_length"), 0u);
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0"); }
