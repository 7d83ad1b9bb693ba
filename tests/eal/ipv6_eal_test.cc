// IPv6 on the relay's port, on ring-backed ports: Neighbour Discovery and ICMPv6 echo bytes,
// the handshake and forwarding over IPv6 and across families (checksums verified by an
// independent computation), rebinding across families, and every IPv6 drop reason.
#include "tests/eal/relay_fixture.h"
#include "tests/testutil/eal_main.h"

namespace dprelay {
namespace {

using testing::Ip6;

constexpr uint8_t kNs = 135, kNa = 136;

class Ipv6EalTest : public RelayEalTest {
 protected:
  Ipv6EalTest() { ipv6_ = true; }

  void SetUp() override {
    RelayEalTest::SetUp();
    a6_ = a_;
    a6_.v6 = true;
    a6_.ip6 = kIp6A;
    b6_ = b_;
    b6_.v6 = true;
    b6_.ip6 = kIp6B;
    // The main lcore's first housekeeping reports our multicast groups (MLD); the tests below
    // look at what follows.
    Step();
    start_ = Sent(1);
  }

  // ICMPv6 from c to dst: type, code, 4 bytes of flags/id, then body (checksum filled in).
  Frame Icmp6From(const Client& c, const std::array<uint8_t, 16>& dst, uint8_t type,
                  std::vector<uint8_t> body, uint8_t hop_limit = 255) const {
    Frame f = FromClient(c, {});
    f.dst_ip6 = dst;
    f.protocol = 58;
    f.raw_l4 = true;
    f.ttl = hop_limit;
    f.payload = {type, 0, 0, 0};
    f.payload.insert(f.payload.end(), body.begin(), body.end());
    return f;
  }

  // A Neighbour Solicitation for target, from c (with its MAC as source link-layer address)
  // to target's solicited-node group.
  Frame Solicitation(const Client& c, const std::array<uint8_t, 16>& target) const {
    std::vector<uint8_t> body = {0, 0, 0, 0};
    body.insert(body.end(), target.begin(), target.end());
    body.insert(body.end(), {1, 1});
    body.insert(body.end(), c.mac, c.mac + 6);
    const Ip6Bytes group = SolicitedNodeMulticast(target);
    Frame f = Icmp6From(c, group, kNs, {});
    f.payload.resize(4);
    f.payload.insert(f.payload.end(), body.begin(), body.end());
    const uint8_t mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
    std::memcpy(f.dst_mac, mac, 6);
    return f;
  }

  // c's (solicited) advertisement of its own address, to the relay.
  Frame Advertisement(const Client& c) const {
    std::vector<uint8_t> body = {0x60, 0, 0, 0};  // S and O; the type's 4 bytes follow
    Frame f = Icmp6From(c, kRelayIp6, kNa, {});
    f.payload.resize(4);
    f.payload.insert(f.payload.end(), body.begin(), body.end());
    f.payload.insert(f.payload.end(), c.ip6.begin(), c.ip6.end());
    f.payload.insert(f.payload.end(), {2, 1});
    f.payload.insert(f.payload.end(), c.mac, c.mac + 6);
    return f;
  }

  // What the relay must send to `to` when forwarding `payload`: built independently.
  std::vector<uint8_t> Expected(const Client& to, const std::vector<uint8_t>& payload) const {
    Frame f;
    std::memcpy(f.src_mac, port_.mac, 6);
    std::memcpy(f.dst_mac, to.mac, 6);
    f.src_ip = kRelayIp;
    f.dst_ip = to.ip;
    f.ipv6 = to.v6;
    f.src_ip6 = kRelayIp6;
    f.dst_ip6 = to.ip6;
    f.src_port = kRelayPort;
    f.dst_port = to.port;
    f.frag = 0x4000;  // DF
    f.payload = payload;
    return f.Build();
  }

  // The session with A and B bound over the given clients' families, MACs learned.
  void OpenSessionAs(const Client& a, const Client& b) {
    Install();
    for (const Client* c : {&a, &b}) {
      Inject(c->v6 ? Solicitation(*c, kRelayIp6).Build() : ArpRequest(*c, kRelayIp));
    }
    Step();
    ASSERT_EQ(Sent(1).size(), 2u);
    Handshake(a, b, 1);
    Handshake(b, a, 1);
    ASSERT_EQ(Counter("legs_bound"), 2u);
  }

  Client a6_, b6_;
  std::vector<std::vector<uint8_t>> start_;  // what the relay sent at its first pass
};

TEST_F(Ipv6EalTest, ReportsItsSolicitedNodeGroupsWithMldAtStartAndEveryMinute) {
  ASSERT_EQ(start_.size(), 1u);
  const std::vector<uint8_t>& r = start_[0];
  MacAddr mac;
  std::memcpy(mac.data(), port_.mac, 6);
  const Ip6Bytes ll = LinkLocalFromMac(mac);
  ASSERT_EQ(r.size(), 14u + 40 + 8 + 8 + 2 * 20);
  const uint8_t dst_mac[6] = {0x33, 0x33, 0, 0, 0, 0x16};
  EXPECT_EQ(0, std::memcmp(&r[0], dst_mac, 6));
  EXPECT_EQ(r[14 + 6], 0);                                        // Hop-by-Hop header first
  EXPECT_EQ(r[14 + 7], 1);                                        // hop limit 1
  EXPECT_EQ(0, std::memcmp(&r[22], ll.data(), 16));               // from our link-local
  EXPECT_EQ(0, std::memcmp(&r[38], Ip6("ff02::16").data(), 16));  // to all MLDv2 routers
  const uint8_t hbh[8] = {58, 0, 5, 2, 0, 0, 1, 0};               // Router Alert: MLD
  EXPECT_EQ(0, std::memcmp(&r[54], hbh, 8));
  const size_t icmp = 62, len = r.size() - icmp;
  EXPECT_EQ(r[icmp], 143);    // MLDv2 report
  EXPECT_EQ(r[icmp + 7], 2);  // two records
  EXPECT_EQ(r[icmp + 8], 2);  // MODE_IS_EXCLUDE, no sources: listening
  EXPECT_EQ(0, std::memcmp(&r[icmp + 12], SolicitedNodeMulticast(kRelayIp6).data(), 16));
  EXPECT_EQ(0, std::memcmp(&r[icmp + 32], SolicitedNodeMulticast(ll).data(), 16));
  // The checksum, computed independently: pseudo-header with next header 58 and the length
  // of the message alone.
  uint32_t sum = 58 + static_cast<uint32_t>(len);
  for (size_t i = 22; i < 54; i += 2) sum += static_cast<uint32_t>(r[i] << 8 | r[i + 1]);
  for (size_t i = icmp; i + 1 < r.size(); i += 2)
    sum += static_cast<uint32_t>(r[i] << 8 | r[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
  EXPECT_EQ(Counter("mld_reports"), 1u);
  // Housekeeping a few seconds later sends none; a minute later, the next.
  now_ns_ += 5 * kSecond;
  Step();
  EXPECT_TRUE(Sent(1).empty());
  now_ns_ += 60 * kSecond;
  Step();
  EXPECT_EQ(Sent(1).size(), 1u);
  EXPECT_EQ(Counter("mld_reports"), 2u);
}

TEST_F(Ipv6EalTest, AnswersNeighbourSolicitationsForItsAddressesOnly) {
  Inject(Solicitation(a6_, kRelayIp6).Build());
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  // To A, from us: IPv6, hop limit 255, NA with S|O, target = ours, our MAC as TLLA.
  std::vector<uint8_t> expected_body = {kNa, 0, 0, 0, 0x60, 0, 0, 0};
  expected_body.insert(expected_body.end(), kRelayIp6.begin(), kRelayIp6.end());
  expected_body.insert(expected_body.end(), {2, 1});
  expected_body.insert(expected_body.end(), port_.mac, port_.mac + 6);
  Frame na;
  std::memcpy(na.src_mac, port_.mac, 6);
  std::memcpy(na.dst_mac, kMacA, 6);
  na.ipv6 = true;
  na.src_ip6 = kRelayIp6;
  na.dst_ip6 = kIp6A;
  na.protocol = 58;
  na.ttl = 255;
  na.raw_l4 = true;
  na.payload = expected_body;
  EXPECT_EQ(out[0], na.Build());
  EXPECT_TRUE(testing::ChecksumsValid(out[0]));
  EXPECT_EQ(neighbours_->Lookup(a6_.addr().ip),
            (MacAddr{kMacA[0], kMacA[1], kMacA[2], kMacA[3], kMacA[4], kMacA[5]}));

  // The link-local address derived from the MAC is answered too.
  MacAddr mac;
  std::memcpy(mac.data(), port_.mac, 6);
  Inject(Solicitation(a6_, LinkLocalFromMac(mac)).Build());
  // Someone else's address (in another group: the worker never hands it over; in our group,
  // as its low 24 bits are ours), a solicitation that crossed a router, a corrupt one.
  Inject(Solicitation(a6_, Ip6("fd77::99")).Build());
  Inject(Solicitation(a6_, Ip6("fd77:1::1")).Build());
  Frame routed = Solicitation(a6_, kRelayIp6);
  routed.ttl = 64;
  Inject(routed.Build());
  std::vector<uint8_t> corrupt = Solicitation(a6_, kRelayIp6).Build();
  corrupt.back() ^= 1;
  Inject(corrupt);
  Step();
  out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(0, std::memcmp(&out[0][14 + 8], LinkLocalFromMac(mac).data(), 16));
  EXPECT_EQ(Counter("nd_advertisements"), 2u);
  EXPECT_EQ(Counter("drop_not_local"), 1u);
  EXPECT_EQ(Counter("drop_nd_not_for_us"), 1u);
  EXPECT_EQ(Counter("drop_nd_invalid"), 2u);
}

TEST_F(Ipv6EalTest, AnswersIcmpv6EchoToItsAddress) {
  Inject(Icmp6From(a6_, kRelayIp6, 128, {0, 7, 0, 1, 'h', 'i'}, 64).Build());
  Inject(Icmp6From(a6_, Ip6("ff02::1"), 128, {0, 7, 0, 2}, 64).Build());  // multicast: no
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  Frame reply;
  std::memcpy(reply.src_mac, port_.mac, 6);
  std::memcpy(reply.dst_mac, kMacA, 6);
  reply.ipv6 = true;
  reply.src_ip6 = kRelayIp6;
  reply.dst_ip6 = kIp6A;
  reply.protocol = 58;
  reply.raw_l4 = true;
  reply.payload = {129, 0, 0, 0, 0, 7, 0, 1, 'h', 'i'};
  EXPECT_EQ(out[0], reply.Build());
  EXPECT_EQ(Counter("icmp_echo_replies"), 1u);
  EXPECT_EQ(Counter("drop_not_local"), 1u);
}

TEST_F(Ipv6EalTest, HandshakeOverIpv6GetsA160ByteChallengeFromTheRelayAddressAndPort) {
  Install();
  Inject(Solicitation(a6_, kRelayIp6).Build());
  Step();
  Sent(1);
  Inject(
      FromClient(a6_, Sealed(a6_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub)).Build());
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  const std::vector<uint8_t>& c = out[0];
  ASSERT_EQ(c.size(), 62u + 160u);
  EXPECT_EQ(0, std::memcmp(&c[22], kRelayIp6.data(), 16));  // from the address bound to
  EXPECT_EQ(0, std::memcmp(&c[38], kIp6A.data(), 16));
  EXPECT_EQ(c[54] << 8 | c[55], kRelayPort);
  EXPECT_EQ(c[56] << 8 | c[57], a6_.port);
  EXPECT_TRUE(testing::ChecksumsValid(c));
  EXPECT_EQ(Counter("challenges_sent"), 1u);
}

TEST_F(Ipv6EalTest, ForwardsIpv6BothWaysWithOnlyOuterHeadersRewritten) {
  OpenSessionAs(a6_, b6_);
  std::vector<uint8_t> ab = Data(kVni, {1, 2, 3});
  std::vector<uint8_t> ba = Data(kVni, std::vector<uint8_t>(1300, 0x5a));
  Inject(FromClient(a6_, ab).Build());
  Inject(FromClient(b6_, ba).Build());
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], Expected(b6_, ab));
  EXPECT_EQ(out[1], Expected(a6_, ba));
  EXPECT_TRUE(testing::ChecksumsValid(out[0]));
  EXPECT_TRUE(testing::ChecksumsValid(out[1]));
  EXPECT_EQ(Counter("forwarded_packets"), 2u);
  EXPECT_EQ(Counter("forwarded_packets_udp6_udp6"), 2u);
  EXPECT_EQ(Counter("forwarded_bytes_udp6_udp6"), ab.size() + ba.size());
  EXPECT_EQ(Counter("forwarded_packets_udp4_udp4"), 0u);
}

TEST_F(Ipv6EalTest, ForwardsAcrossFamiliesResizingThePacketAndFixingChecksums) {
  OpenSessionAs(a_, b6_);  // A over IPv4, B over IPv6
  std::vector<uint8_t> ab = Data(kVni, {1, 2, 3, 4, 5});
  std::vector<uint8_t> ba = Data(kVni, std::vector<uint8_t>(1366, 0xc3));
  Inject(FromClient(a_, ab).Build());
  Inject(FromClient(b6_, ba).Build());
  // An IPv4 sender without a UDP checksum: IPv6 requires one, so the relay computes it.
  Frame nocsum = FromClient(a_, Data(kVni, {9, 8, 7}));
  nocsum.udp_checksum = false;
  Inject(nocsum.Build());
  // Ethernet padding of a short IPv6 frame is not forwarded.
  std::vector<uint8_t> padded = FromClient(b6_, Data(kVni, {6})).Build();
  padded.resize(padded.size() + 9, 0);
  Inject(padded);
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], Expected(b6_, ab));  // grew by 20 bytes
  EXPECT_EQ(out[1], Expected(a_, ba));   // shrank by 20 bytes
  EXPECT_EQ(out[2], Expected(b6_, Data(kVni, {9, 8, 7})));
  EXPECT_EQ(out[3], Expected(a_, Data(kVni, {6})));
  for (const auto& f : out) {
    EXPECT_TRUE(testing::ChecksumsValid(f));
  }
  EXPECT_EQ(Counter("forwarded_packets_udp4_udp6"), 2u);
  EXPECT_EQ(Counter("forwarded_packets_udp6_udp4"), 2u);
  EXPECT_EQ(Counter("forwarded_bytes_udp4_udp6"), ab.size() + 11u);
  EXPECT_EQ(Counter("forwarded_bytes_udp6_udp4"), ba.size() + 9u);
  EXPECT_EQ(Counter("forwarded_packets"), 4u);
  // Per leg, as the session listing shows them.
  std::vector<SessionView> sessions = main_->sessions().List();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].packets[0] + sessions[0].packets[1], 4u);
}

TEST_F(Ipv6EalTest, RebindAcrossFamiliesMovesForwardingAtOnce) {
  OpenSessionAs(a_, b_);
  // A moves to IPv6 (a new Bind generation from its new address).
  Inject(Solicitation(a6_, kRelayIp6).Build());
  Step();
  Sent(1);
  Handshake(a6_, b_, 2);
  Inject(FromClient(a_, Data(kVni, {1})).Build());   // the old address: no longer bound
  Inject(FromClient(a6_, Data(kVni, {2})).Build());  // the new one
  Inject(FromClient(b_, Data(kVni, {3})).Build());   // B now reaches A over IPv6
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], Expected(b_, Data(kVni, {2})));
  EXPECT_EQ(out[1], Expected(a6_, Data(kVni, {3})));
  EXPECT_EQ(Counter("drop_unknown_source"), 1u);
  // Only what left is counted: the dropped packet's bytes are not.
  EXPECT_EQ(Counter("forwarded_packets"), 2u);
  EXPECT_EQ(Counter("forwarded_bytes"), 2u * Data(kVni, {1}).size());
}

TEST_F(Ipv6EalTest, ResolvesIpv6PeersBySolicitationBeforeForwardingToThem) {
  // Control re-installs a session whose legs are bound over IPv6 (dataplane restart); the
  // relay knows neither MAC.
  ipc::InstallSession m = InstallMessage();
  m.bound = {a6_.addr(), b6_.addr()};
  if (m.client_keys[0] != a6_.key.pub) {
    std::swap(m.bound[0], m.bound[1]);
  }
  ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  Inject(FromClient(a6_, Data(kVni, {1})).Build());
  now_ns_ += 2 * kSecond;  // housekeeping: solicitations for both
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_no_neighbour"), 1u);
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& ns : out) {
    EXPECT_EQ(ns[0], 0x33);
    EXPECT_EQ(ns[1], 0x33);
    EXPECT_EQ(ns[2], 0xff);
    EXPECT_EQ(ns[54], kNs);
    EXPECT_EQ(ns[21], 255);                                     // hop limit
    EXPECT_EQ(0, std::memcmp(&ns[22], kRelayIp6.data(), 16));   // from our address
    EXPECT_EQ(0, std::memcmp(&ns[54 + 24 + 2], port_.mac, 6));  // with our MAC
    EXPECT_TRUE(testing::ChecksumsValid(ns));
  }
  EXPECT_EQ(Counter("nd_solicitations"), 2u);
  // B answers: forwarding to B starts.
  Inject(Advertisement(b6_).Build());
  Step();
  Inject(FromClient(a6_, Data(kVni, {2})).Build());
  Step();
  out = Sent(0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Expected(b6_, Data(kVni, {2})));
  // An advertisement to us claiming to be solicited but sent to a group is invalid.
  Frame bad = Advertisement(a6_);
  bad.dst_ip6 = Ip6("ff02::1");
  Inject(bad.Build());
  Step();
  EXPECT_EQ(Counter("drop_nd_invalid"), 1u);
  EXPECT_FALSE(neighbours_->Lookup(a6_.addr().ip).has_value());
  // An advertisement for an address the relay never asked about teaches it nothing (RFC 4861
  // 7.2.5): no host on the link can fill the table or pre-empt a next hop that way.
  Client stranger = a6_;
  stranger.ip6 = Ip6("fd77::33");
  Inject(Advertisement(stranger).Build());
  Step();
  EXPECT_EQ(Counter("drop_nd_unsolicited"), 1u);
  EXPECT_FALSE(neighbours_->Lookup(stranger.addr().ip).has_value());
}

TEST_F(Ipv6EalTest, AnIpv4PacketWithNoRoomToGrowIsCountedNotCorrupted) {
  OpenSessionAs(a_, b6_);
  std::vector<uint8_t> frame = FromClient(a_, Data(kVni, {1})).Build();
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(m, nullptr);
  m->data_off = 4;  // less than the 20 bytes an IPv6 header needs more than IPv4
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
              frame.size());
  ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_no_headroom"), 1u);
}

TEST_F(Ipv6EalTest, AnIpv4PacketThatWouldOutgrowTheMtuAsIpv6IsCountedNotSent) {
  OpenSessionAs(a_, b6_);
  // 1500 bytes of IPv4 (the port's MTU, so it arrived): 1520 as IPv6 would not fit the link.
  const size_t full = 1500 - 20 - 8 - kGeneveHeaderLen;
  Inject(FromClient(a_, Data(kVni, std::vector<uint8_t>(full, 1))).Build());
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_too_big_for_mtu"), 1u);
  // 20 bytes less fits exactly.
  Inject(FromClient(a_, Data(kVni, std::vector<uint8_t>(full - 20, 1))).Build());
  Step();
  ASSERT_EQ(Sent(0).size(), 1u);
}

TEST_F(Ipv6EalTest, MalformedIpv6IsDroppedByName) {
  OpenSessionAs(a6_, b6_);
  const std::vector<uint8_t> good = FromClient(a6_, Data(kVni, {1, 2, 3})).Build();
  auto with = [&](auto edit) {
    std::vector<uint8_t> f = good;
    edit(f);
    return f;
  };
  struct Case {
    const char* counter;
    std::vector<uint8_t> frame;
  };
  std::vector<Case> cases = {
      {"drop_ip_runt", with([](auto& f) { f.resize(14 + 39); })},
      {"drop_ip_bad_version", with([](auto& f) { f[14] = 0x40; })},
      {"drop_ip_bad_total_length", with([](auto& f) { f[18] = 0x7f; })},
      {"drop_ip_bad_total_length", with([](auto& f) { f[18] = f[19] = 0; })},
      {"drop_not_local", with([](auto& f) { f[53] ^= 0x55; })},
      {"drop_ip_fragment", with([](auto& f) { f[20] = 44; })},
      {"drop_ipv6_ext_header", with([](auto& f) { f[20] = 0; })},
      {"drop_unsupported_l4", with([](auto& f) { f[20] = 6; })},
      {"drop_udp_runt", with([](auto& f) { f.resize(14 + 40 + 4), f[18] = 0, f[19] = 4; })},
      {"drop_udp_bad_length", with([](auto& f) { f[58] = 0x7f; })},
      {"drop_udp6_zero_checksum", with([](auto& f) { f[60] = f[61] = 0; })},
      {"drop_not_relay_port", with([](auto& f) { f[57] ^= 1; })},
      {"drop_icmp_not_echo", Icmp6From(a6_, kRelayIp6, 134, {0, 0, 0, 0}).Build()},
  };
  std::map<std::string, uint64_t> want;
  for (const Case& c : cases) {
    Inject(c.frame);
    ++want[c.counter];
  }
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_TRUE(Sent(1).empty());
  for (const auto& [name, n] : want) {
    EXPECT_EQ(Counter(name), n) << name;
  }
  // Nothing established was lost.
  Inject(good);
  Step();
  EXPECT_EQ(Sent(0).size(), 1u);
}

TEST_F(RelayEalTest, Ipv6IsUnsupportedWithoutAnIpv6Address) {
  Client a6 = a_;
  a6.v6 = true;
  a6.ip6 = kIp6A;
  Inject(FromClient(a6, Data(kVni, {1})).Build());
  Step();
  EXPECT_EQ(Counter("drop_unsupported_ethertype"), 1u);
  ipc::InstallSession m = InstallMessage();
  m.bound[0] = a6.addr();
  absl::Status st = main_->sessions().Install(m, now_ns_);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("no IPv6 address"), std::string::npos) << st;
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0"); }
