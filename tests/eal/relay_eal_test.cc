// EAL tests on ring-backed ports (rte_eth_from_rings): real frames in, exact frames out, and
// the counters an operator would read. No NIC, no hugepages.
#include "tests/eal/relay_fixture.h"
#include "tests/testutil/eal_main.h"

namespace dprelay {
namespace {

TEST_F(RelayEalTest, AnswersArpForTheRelayAddressOnly) {
  Inject(ArpRequest(a_, kRelayIp));
  Inject(ArpRequest(a_, Ip(10, 77, 0, 99)));
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  const std::vector<uint8_t>& r = out[0];
  EXPECT_EQ(0, std::memcmp(&r[0], kMacA, 6));       // to the asker
  EXPECT_EQ(0, std::memcmp(&r[6], port_.mac, 6));   // from us
  EXPECT_EQ(r[21], 2);                              // reply
  EXPECT_EQ(0, std::memcmp(&r[22], port_.mac, 6));  // sender hw = our MAC
  uint32_t sip;
  std::memcpy(&sip, &r[28], 4);
  EXPECT_EQ(ntohl(sip), kRelayIp);
  EXPECT_EQ(Counter("arp_replies"), 1u);
  EXPECT_EQ(Counter("drop_arp_not_for_us"), 1u);
}

TEST_F(RelayEalTest, AnswersIcmpEcho) {
  const std::vector<uint8_t> icmp = {8, 0, 0, 0, 0, 1, 0, 1, 'h', 'i'};
  Inject(EchoRequest(a_));
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][34], 0);  // echo reply
  EXPECT_EQ(std::vector<uint8_t>(out[0].begin() + 38, out[0].end()),
            std::vector<uint8_t>(icmp.begin() + 4, icmp.end()));  // id, seq, data echoed
  uint32_t sum = 0;
  for (size_t i = 34; i + 1 < out[0].size(); i += 2) sum += out[0][i] << 8 | out[0][i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);  // ICMP checksum verifies
  EXPECT_EQ(Counter("icmp_echo_replies"), 1u);
}

TEST_F(RelayEalTest, BindGetsA160ByteChallengeFromTheRelayAddressAndPort) {
  Install();
  LearnNeighbours();
  BindUdpRelayEndpointChallenge ch = Handshake(a_, b_, 1);
  EXPECT_EQ(ch.vni, kVni);
  EXPECT_EQ(ch.generation, 1u);
  EXPECT_EQ(ch.remote_key, b_.key.pub);
  EXPECT_EQ(Counter("challenges_sent"), 1u);
  EXPECT_EQ(Counter("legs_bound"), 1u);

  // Look at the Challenge frame itself on a second Bind.
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 2, b_.key.pub)).Build());
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  const std::vector<uint8_t>& f = out[0];
  ASSERT_EQ(f.size(), 42u + 160u);
  EXPECT_TRUE(testing::ChecksumsValid(f));
  EXPECT_EQ(0, std::memcmp(&f[0], kMacA, 6));
  uint32_t src, dst;
  std::memcpy(&src, &f[26], 4);
  std::memcpy(&dst, &f[30], 4);
  EXPECT_EQ(ntohl(src), kRelayIp);
  EXPECT_EQ(ntohl(dst), kIpA);
  EXPECT_EQ(f[34] << 8 | f[35], kRelayPort);
  EXPECT_EQ(f[36] << 8 | f[37], a_.port);
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 42, f.begin() + 50),
            testing::Hex("00807a1100000700"));                          // ctrl, disco, VNI 7
  EXPECT_EQ(0, std::memcmp(&f[50 + 6], server_.pub.bytes.data(), 32));  // sender = server key
}

TEST_F(RelayEalTest, ForwardsDataBothWaysWithOnlyOuterHeadersRewritten) {
  OpenSession();
  EXPECT_EQ(Counter("legs_bound"), 2u);

  std::vector<uint8_t> ab = Data(kVni, {1, 2, 3});
  Inject(FromClient(a_, ab).Build());
  std::vector<uint8_t> ba = Data(kVni, {4, 5, 6});
  Inject(FromClient(b_, ba).Build());
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 2u);

  auto expected = [&](const Client& to, const std::vector<uint8_t>& payload) {
    Frame f;
    std::memcpy(f.src_mac, port_.mac, 6);
    std::memcpy(f.dst_mac, to.mac, 6);
    f.src_ip = kRelayIp;
    f.dst_ip = to.ip;
    f.src_port = kRelayPort;
    f.dst_port = to.port;
    f.frag = 0x4000;  // DF
    f.payload = payload;
    return f.Build();
  };
  EXPECT_EQ(out[0], expected(b_, ab));
  EXPECT_EQ(out[1], expected(a_, ba));
  EXPECT_TRUE(testing::ChecksumsValid(out[0]));
  EXPECT_TRUE(testing::ChecksumsValid(out[1]));
  EXPECT_EQ(Counter("forwarded_packets"), 2u);
  EXPECT_EQ(Counter("forwarded_bytes"), 2u * (8 + 3));

  // A sender without a UDP checksum keeps having none.
  Frame nocsum = FromClient(a_, Data(kVni, std::vector<uint8_t>(100, 0xab)));
  nocsum.udp_checksum = false;
  Inject(nocsum.Build());
  Step();
  out = Sent(0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][40], 0);
  EXPECT_EQ(out[0][41], 0);
  EXPECT_TRUE(testing::ChecksumsValid(out[0]));
}

TEST_F(RelayEalTest, DumpReturnsWhatControlInstalledWithPerLegCounters) {
  ipc::InstallSession m = InstallMessage();
  m.lamport_id = 4242;
  m.allocated_at_unix_ns = 1'700'000'000'123'456'789;
  ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  LearnNeighbours();
  Handshake(a_, b_, 1, 3'000'000);
  Handshake(b_, a_, 1, 1'500'000);
  Inject(FromClient(a_, Data(kVni, {1, 2, 3})).Build());
  Inject(FromClient(a_, Data(kVni, {4, 5})).Build());
  Inject(FromClient(b_, Data(kVni, std::vector<uint8_t>(100, 7))).Build());
  Step();
  ASSERT_EQ(Sent(0).size(), 3u);

  uint32_t next = 99;
  auto dump_page = [&](uint32_t from, size_t max_sessions, uint32_t max_scan, uint32_t* next_vni) {
    return main_->sessions().DumpPage(from, max_sessions, max_scan, next_vni, now_ns_);
  };
  std::vector<ipc::SessionRecord> page = dump_page(0, 256, 65536, &next);
  EXPECT_EQ(next, 0u);  // the whole 1024-entry table was scanned
  ASSERT_EQ(page.size(), 1u);
  // A copy: `page` is reassigned below, and r is compared after that (ASan found the reference
  // to the freed vector).
  const ipc::SessionRecord r = page[0];
  EXPECT_EQ(r.vni, kVni);
  EXPECT_EQ(r.client_keys, m.client_keys);
  EXPECT_EQ(r.lamport_id, 4242u);
  EXPECT_EQ(r.allocated_at_unix_ns, 1'700'000'000'123'456'789);
  const int leg_a = r.client_keys[0] == a_.key.pub ? 0 : 1;
  EXPECT_EQ(FormatAddrPort(r.bound[leg_a]), "10.77.0.11:5001");
  EXPECT_EQ(r.packets[leg_a], 2u);
  EXPECT_EQ(r.bytes[leg_a], 2u * 8 + 3 + 2);
  EXPECT_EQ(r.packets[1 - leg_a], 1u);
  EXPECT_EQ(r.bytes[1 - leg_a], 8u + 100);
  // The relay's own round trip: Challenge sent -> Answer received, per leg.
  EXPECT_EQ(r.handshake_rtt_ns[leg_a], 3'000'000u);
  EXPECT_EQ(r.handshake_rtt_ns[1 - leg_a], 1'500'000u);
  // Both legs just sent data: their counters moved since the last housekeeping, so both
  // count as seen now.
  EXPECT_LT(r.idle_ns[0], kSecond);
  EXPECT_LT(r.idle_ns[1], kSecond);

  // A re-install (control reconnecting after a dataplane restart) keeps the legs bound, but
  // this dataplane never timed their handshake.
  ipc::InstallSession again = m;
  again.bound = r.bound;
  ASSERT_TRUE(main_->sessions().Install(again, now_ns_).ok());
  page = dump_page(0, 256, 65536, &next);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].handshake_rtt_ns, (std::array<uint64_t, 2>{0, 0}));
  EXPECT_EQ(page[0].bound, r.bound);

  // Paging: a page ends after max_sessions, or after max_scan VNIs even if empty.
  ipc::InstallSession second = m;
  second.vni = kVni + 10;
  ASSERT_TRUE(main_->sessions().Install(second, now_ns_).ok());
  page = dump_page(0, 1, 65536, &next);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].vni, kVni);
  EXPECT_EQ(next, kVni + 1);
  page = dump_page(next, 1, 3, &next);
  EXPECT_TRUE(page.empty());
  EXPECT_EQ(next, kVni + 4);
  now_ns_ += 5 * kSecond;
  page = dump_page(next, 256, 65536, &next);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].vni, kVni + 10);
  EXPECT_EQ(next, 0u);
  // Legs that never bound: idle since the install, no round trip measured.
  EXPECT_EQ(page[0].idle_ns, (std::array<uint64_t, 2>{5 * kSecond, 5 * kSecond}));
  EXPECT_EQ(page[0].handshake_rtt_ns, (std::array<uint64_t, 2>{0, 0}));
}

TEST_F(RelayEalTest, XstatsCountWhatThePortReceivedPerPort) {
  auto value = [&](const std::string& name) -> int64_t {
    for (const auto& [n, v] : ReadXstats(port_.port_id)) {
      if (n == name) {
        return static_cast<int64_t>(v);
      }
    }
    return -1;
  };
  const int64_t before = value("rx_good_packets");
  ASSERT_GE(before, 0) << "no rx_good_packets xstat";
  Install();
  for (int i = 0; i < 3; ++i) {
    Inject(FromClient(a_, Data(kVni, {1, 2, 3})).Build());
  }
  Step();
  EXPECT_EQ(value("rx_good_packets"), before + 3);
  EXPECT_EQ(ReadXstats(9999).size(), 0u);  // no such port: nothing, no crash
}

TEST_F(RelayEalTest, RebindFromANewPortMovesForwardingAtOnce) {
  OpenSession();
  Client moved = a_;
  moved.port = 6001;
  Handshake(moved, b_, 2);
  EXPECT_EQ(main_->sessions().NextHopsInUse().size(), 2u);  // moved, not added
  Inject(FromClient(a_, Data(kVni, {9})).Build());          // old address: refused
  Inject(FromClient(moved, Data(kVni, {8})).Build());       // new address: forwarded
  Inject(FromClient(b_, Data(kVni, {7})).Build());          // towards the new address
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].back(), 8);
  EXPECT_EQ(out[1].back(), 7);
  EXPECT_EQ(out[1][36] << 8 | out[1][37], 6001);
  EXPECT_EQ(Counter("drop_unknown_source"), 1u);
}

TEST_F(RelayEalTest, HandshakeFailuresAreSilentAndCounted) {
  Install();
  LearnNeighbours();
  BindUdpRelayEndpointChallenge ch = Handshake(a_, b_, 1);
  // Replaying the same Answer: the generation was consumed.
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpointAnswer, kVni, 1, b_.key.pub,
                               ch.challenge))
             .Build());
  // A forged challenge for a fresh Bind.
  Inject(FromClient(b_, Sealed(b_, DiscoType::kBindUdpRelayEndpoint, kVni, 5, a_.key.pub)).Build());
  Step();
  ASSERT_EQ(Sent(1).size(), 1u);  // the Challenge to B, nothing else
  Inject(FromClient(b_, Sealed(b_, DiscoType::kBindUdpRelayEndpointAnswer, kVni, 5, a_.key.pub,
                               Challenge{}))
             .Build());
  // RemoteKey that is not the other leg, Generation 0, wrong sealed VNI, unexpected type.
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 3, a_.key.pub)).Build());
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 0, b_.key.pub)).Build());
  std::vector<uint8_t> wrong_vni = Sealed(a_, DiscoType::kBindUdpRelayEndpoint, 8, 3, b_.key.pub);
  wrong_vni[6] = kVni;  // outer VNI 7, sealed VNI 8
  Inject(FromClient(a_, wrong_vni).Build());
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpointChallenge, kVni, 3, b_.key.pub))
             .Build());
  // Sealed by a key that is neither client; and a box that does not open.
  Client stranger = a_;
  stranger.key = KeyFromByte(0x44);
  stranger.with_server = *ComputeSharedKey(server_.pub, stranger.key.priv);
  Inject(
      FromClient(stranger, Sealed(stranger, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub))
          .Build());
  std::vector<uint8_t> broken = Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub);
  broken.back() ^= 1;
  Inject(FromClient(a_, broken).Build());
  Step();
  EXPECT_TRUE(Sent(1).empty());
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_no_generation"), 1u);
  EXPECT_EQ(Counter("drop_mac_mismatch"), 1u);
  EXPECT_EQ(Counter("drop_remote_key_mismatch"), 1u);
  EXPECT_EQ(Counter("drop_generation_zero"), 1u);
  EXPECT_EQ(Counter("drop_vni_mismatch"), 1u);
  EXPECT_EQ(Counter("drop_unexpected_type"), 1u);
  EXPECT_EQ(Counter("drop_unknown_sender"), 1u);
  EXPECT_EQ(Counter("drop_open_failed"), 1u);
  EXPECT_EQ(Counter("legs_bound"), 1u);
}

TEST_F(RelayEalTest, MalformedAndUnrelatedPacketsAreDroppedByName) {
  Install();
  LearnNeighbours();
  Handshake(a_, b_, 1);  // one leg bound only
  struct Case {
    const char* what;
    std::vector<uint8_t> frame;
    const char* counter;
  };
  std::vector<Case> cases;
  cases.push_back({"runt frame", {1, 2, 3}, "drop_eth_runt"});
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[12] = 0x86, f[13] = 0xdd;
    cases.push_back({"IPv6 ethertype", f, "drop_unsupported_ethertype"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f.resize(20);
    cases.push_back({"truncated IPv4", f, "drop_ip_runt"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[14] = 0x65;  // version 6 in an IPv4 ethertype
    cases.push_back({"IP version", f, "drop_ip_bad_version"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[14] = 0x44;  // IHL 4
    cases.push_back({"IHL below 5", f, "drop_ip_bad_header_length"});
  }
  {
    Frame f = FromClient(a_, Data(kVni, {1}));
    f.ihl = 6;
    cases.push_back({"IP options", f.Build(), "drop_ip_options"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[16] = 0, f[17] = 24;  // IPv4 total length leaves 4 bytes for UDP
    f[24] = f[25] = 0;      // and a header checksum that verifies
    uint32_t sum = 0;
    for (size_t i = 14; i < 34; i += 2) sum += f[i] << 8 | f[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[24] = static_cast<uint8_t>(~sum >> 8), f[25] = static_cast<uint8_t>(~sum);
    cases.push_back({"UDP runt", f, "drop_udp_runt"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[38] = 0x10;  // UDP length beyond the IP payload
    cases.push_back({"UDP length", f, "drop_udp_bad_length"});
  }
  {
    Frame f = FromClient(a_, {3, 1, 0, 0, 0, 0, 0, 0});  // ICMP destination unreachable
    f.protocol = 1;
    f.udp_checksum = false;
    cases.push_back({"ICMP other than echo", f.Build(), "drop_icmp_not_echo"});
  }
  {
    // Opens with the right key but is no disco message (unknown type 0x7f).
    std::vector<uint8_t> g(kGeneveHeaderLen);
    EXPECT_TRUE(
        EncodeGeneve({.control = true, .protocol = kGeneveProtocolDisco, .vni = kVni}, g).ok());
    const uint8_t junk[3] = {0x7f, 0, 0};
    std::vector<uint8_t> box = SealDisco(a_.with_server, a_.key.pub, junk);
    g.insert(g.end(), box.begin(), box.end());
    cases.push_back({"sealed non-message", FromClient(a_, g).Build(), "drop_parse_failed"});
  }
  {
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[16] = 0x10;  // total length far beyond the frame
    cases.push_back({"bad total length", f, "drop_ip_bad_total_length"});
  }
  {
    Frame f = FromClient(a_, Data(kVni, {1}));
    f.frag = 0x2000;  // MF
    cases.push_back({"fragment", f.Build(), "drop_ip_fragment"});
  }
  {
    // A data packet of the open session with one bit of its IPv4 header flipped (the TTL,
    // which the relay rewrites anyway): the header checksum no longer verifies.
    std::vector<uint8_t> f = FromClient(a_, Data(kVni, {1})).Build();
    f[22] ^= 0x01;
    cases.push_back({"bad header checksum", f, "drop_ip_bad_checksum"});
  }
  {
    Frame f = FromClient(a_, Data(kVni, {1}));
    f.dst_ip = Ip(10, 77, 0, 99);
    cases.push_back({"not our address", f.Build(), "drop_not_local"});
  }
  {
    Frame f = FromClient(a_, Data(kVni, {1}));
    f.protocol = 6;
    cases.push_back({"TCP", f.Build(), "drop_unsupported_l4"});
  }
  {
    Frame f = FromClient(a_, Data(kVni, {1}));
    f.dst_port = 22;
    cases.push_back({"another port", f.Build(), "drop_not_relay_port"});
  }
  cases.push_back(
      {"STUN", FromClient(a_, testing::Hex("0001000021 12a442 000000000000000000000000")).Build(),
       "drop_stun"});
  cases.push_back({"Geneve runt", FromClient(a_, {0, 0, 0x7a}).Build(), "drop_geneve_runt"});
  cases.push_back({"unknown VNI", FromClient(a_, Data(99, {1})).Build(), "drop_unknown_vni"});
  cases.push_back(
      {"VNI beyond the table", FromClient(a_, Data(5000, {1})).Build(), "drop_unknown_vni"});
  {
    std::vector<uint8_t> g = Data(kVni, {1});
    g[1] = 0x80;  // control bit with WireGuard protocol
    cases.push_back({"control, not disco", FromClient(a_, g).Build(), "drop_control_not_disco"});
  }
  cases.push_back({"data before both legs are bound", FromClient(a_, Data(kVni, {1})).Build(),
                   "drop_not_bound"});
  {
    std::vector<uint8_t> g = Data(kVni, {});
    g[1] = 0x80;
    g[3] = 0x11;
    g.resize(40, 0);  // control, disco protocol, but no disco wrapper
    cases.push_back({"control without wrapper", FromClient(a_, g).Build(), "drop_bad_wrapper"});
  }
  for (const Case& c : cases) {
    uint64_t before = Counter(c.counter);
    Inject(c.frame);
    Step();
    EXPECT_EQ(Counter(c.counter), before + 1) << c.what;
    EXPECT_TRUE(Sent(0).empty()) << c.what;
    EXPECT_TRUE(Sent(1).empty()) << c.what;
  }
}

TEST_F(RelayEalTest, ManyNeighbourChangesAtOnceAreRepublishedInOneBatch) {
  // Ten sessions whose twenty legs are bound (re-installed) to on-link clients whose MACs the
  // relay does not know yet.
  constexpr int kSessions = 10;
  auto client_ip = [](int i) { return Ip(10, 77, 0, static_cast<uint8_t>(100 + i)); };
  for (int s = 0; s < kSessions; ++s) {
    ipc::InstallSession m = InstallMessage();
    m.vni = 101 + s;
    m.bound = {AddrPort{IpAddr::V4FromBe(htonl(client_ip(2 * s))), 6000},
               AddrPort{IpAddr::V4FromBe(htonl(client_ip(2 * s + 1))), 6000}};
    ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  }
  Step();  // the first housekeeping (its ARP requests are not what this test is about)
  Sent(1);
  // All twenty announce themselves at once.
  for (int i = 0; i < 2 * kSessions; ++i) {
    uint8_t mac[6] = {0x02, 0x10, 0, 0, 0, static_cast<uint8_t>(i)};
    Client c{KeyFromByte(0x11), client_ip(i), 6000, mac, {}};
    Inject(ArpRequest(c, kRelayIp));
  }
  Step();
  EXPECT_EQ(Sent(1).size(), 20u);  // every one answered
  auto send_from_leg0 = [&] {
    for (int s = 0; s < kSessions; ++s) {
      Frame f;
      f.src_ip = client_ip(2 * s);
      f.dst_ip = kRelayIp;
      f.src_port = 6000;
      f.dst_port = kRelayPort;
      f.payload = Data(101 + s, {1, 2, 3});
      Inject(f.Build());
    }
    Step();
    return Sent(0).size();
  };
  // The first eight were republished at once (the legs of sessions 0-3); the rest wait for
  // the next housekeeping, which handles them all in one scan.
  EXPECT_EQ(send_from_leg0(), 4u);
  EXPECT_EQ(Counter("drop_no_neighbour"), 6u);
  now_ns_ += 1'100'000'000;
  Step();
  Sent(1);
  EXPECT_EQ(send_from_leg0(), 10u);
}

TEST_F(RelayEalTest, ResolvesAnUnknownPeerBeforeForwardingToIt) {
  Install();
  // Only A's MAC is known; B binds without the relay having seen B's ARP.
  Inject(ArpRequest(a_, kRelayIp));
  Step();
  Sent(1);
  Handshake(a_, b_, 1);
  Handshake(b_, a_, 1);
  now_ns_ += 2 * kSecond;  // housekeeping runs: an ARP request for B goes out
  Step();
  std::vector<std::vector<uint8_t>> out = Sent(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][21], 1);  // ARP request
  uint32_t tip;
  std::memcpy(&tip, &out[0][38], 4);
  EXPECT_EQ(ntohl(tip), kIpB);
  EXPECT_EQ(Counter("arp_requests"), 1u);

  Inject(FromClient(a_, Data(kVni, {1})).Build());
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_no_neighbour"), 1u);

  // B's ARP reply arrives: the leg's template is rebuilt and forwarding starts.
  std::vector<uint8_t> reply = ArpRequest(b_, kRelayIp);
  reply[21] = 2;
  std::memcpy(&reply[0], port_.mac, 6);
  Inject(reply);
  Step();
  Inject(FromClient(a_, Data(kVni, {2})).Build());
  Step();
  out = Sent(0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(0, std::memcmp(&out[0][0], kMacB, 6));
}

TEST_F(RelayEalTest, AnInstallNeverTakesOverALiveVniWithOtherKeys) {
  OpenSession();
  ipc::InstallSession other = InstallMessage();
  other.client_keys = SortedPair(KeyFromByte(0x55).pub, KeyFromByte(0x66).pub);
  EXPECT_EQ(main_->sessions().Install(other, now_ns_).code(), absl::StatusCode::kAlreadyExists);
  Inject(FromClient(a_, Data(kVni, {1})).Build());
  Step();
  EXPECT_EQ(Sent(0).size(), 1u);  // still forwarding for the established pair
}

TEST_F(RelayEalTest, FullRingsAndPoolsAreCountedNotLeaked) {
  OpenSession();
  auto fill = [&](rte_ring* ring) {
    std::vector<rte_mbuf*> held;
    while (rte_ring_free_count(ring) > 0) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      rte_ring_enqueue(ring, m);
      held.push_back(m);
    }
    return held;
  };
  // The worker -> main lcore neighbour ring is full: an ARP request is dropped by name.
  fill(to_main_[MainClass::kNeighbour]);
  Inject(ArpRequest(a_, kRelayIp));
  worker_->Poll();
  EXPECT_EQ(Counter("drop_neighbour_ring_full"), 1u);
  void* obj;
  while (rte_ring_dequeue(to_main_[MainClass::kNeighbour], &obj) == 0) {
    rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
  // The TX queue is full: the forwarded packet is freed and counted.
  fill(tx_[0]);
  Inject(FromClient(a_, Data(kVni, {1})).Build());
  worker_->Poll();
  EXPECT_EQ(Counter("drop_tx_full"), 1u);
  Sent(0);
  // The pool is empty when the main lcore must originate an ARP request.
  std::vector<rte_mbuf*> taken;
  while (rte_mbuf* m = rte_pktmbuf_alloc(port_.pool)) taken.push_back(m);
  now_ns_ += 61 * 1'000'000'000ull;  // every neighbour is stale: refresh requests are due
  Inject(FromClient(a_, Data(kVni, {2})).Build());  // keep the session alive
  Step();
  EXPECT_GE(Counter("drop_no_mbuf"), 1u);
  for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
  EXPECT_EQ(rte_mempool_avail_count(pool_) + rte_mempool_in_use_count(pool_), 4096u);
}

TEST_F(RelayEalTest, StaleNeighboursAreRefreshedAndForgottenOnesStopForwarding) {
  OpenSession();
  auto tick = [&](uint64_t seconds) {
    now_ns_ += seconds * 1'000'000'000ull;
    // Traffic both ways keeps the session alive (either idle leg would expire it).
    Inject(FromClient(a_, Data(kVni, {0xa})).Build());
    Inject(FromClient(b_, Data(kVni, {0xb})).Build());
    Step();
  };
  tick(61);  // entries are stale: both are asked for again, forwarding continues meanwhile
  std::vector<std::vector<uint8_t>> arps = Sent(1);
  EXPECT_EQ(arps.size(), 2u);
  EXPECT_EQ(Sent(0).size(), 2u);
  EXPECT_EQ(Counter("arp_requests"), 2u);
  // A answers, B never does: after the expiry B's leg is unresolved, never a guessed MAC.
  std::vector<uint8_t> reply = ArpRequest(a_, kRelayIp);
  reply[21] = 2;
  for (int i = 0; i < 5; ++i) {
    Inject(reply);
    tick(60);
    Sent(1);
    Sent(0);
  }
  uint64_t no_neighbour = Counter("drop_no_neighbour");
  tick(1);
  std::vector<std::vector<uint8_t>> out = Sent(0);
  ASSERT_EQ(out.size(), 1u);  // B -> A still flows; A -> B has no next hop any more
  EXPECT_EQ(out[0].back(), 0xb);
  EXPECT_EQ(Counter("drop_no_neighbour"), no_neighbour + 1);
}

TEST_F(RelayEalTest, OffLinkClientsWithoutAGatewayAreNoRoute) {
  ipc::InstallSession m = InstallMessage();
  const int leg_a = m.client_keys[0] == a_.key.pub ? 0 : 1;
  m.bound[leg_a] = AddrPort{IpAddr::V4FromBe(htonl(kIpA)), a_.port};
  m.bound[1 - leg_a] = AddrPort{IpAddr::V4(192, 0, 2, 9), 7000};  // off-link, no gateway
  ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  Inject(FromClient(a_, Data(kVni, {1})).Build());
  Step();
  EXPECT_TRUE(Sent(0).empty());
  EXPECT_EQ(Counter("drop_no_route"), 1u);
}

TEST_F(RelayEalTest, TheWorkerAccountsIdleAndBusyLoopTimeForItsBusyRatio) {
  OpenSession();
  for (int i = 0; i < 1024; ++i) worker_->PollAndAccount();  // nothing to receive
  EXPECT_GT(Counter("worker_cycles"), 0u);
  EXPECT_EQ(Counter("worker_busy_cycles"), 0u);
  size_t forwarded = 0;
  for (int i = 0; i < 1024; ++i) {  // one flush period with a packet on every poll
    Inject(FromClient(a_, Data(kVni, {1})).Build());
    worker_->PollAndAccount();
    forwarded += Sent(0).size();
  }
  EXPECT_EQ(forwarded, 1024u);
  const uint64_t busy = Counter("worker_busy_cycles"), all = Counter("worker_cycles");
  EXPECT_GT(busy, 0u);
  EXPECT_LE(busy, all);
}

TEST_F(RelayEalTest, UnboundSessionsExpireAfterTheBindLifetime) {
  Install();
  now_ns_ += 29 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 1u);
  now_ns_ += 2 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 0u);
  Inject(FromClient(a_, Sealed(a_, DiscoType::kBindUdpRelayEndpoint, kVni, 1, b_.key.pub)).Build());
  Step();
  EXPECT_TRUE(Sent(1).empty());
  EXPECT_EQ(Counter("drop_unknown_vni"), 1u);
}

TEST_F(RelayEalTest, BoundSessionsExpireWhenEitherLegIsIdle) {
  OpenSession();
  EXPECT_EQ(main_->sessions().NextHopsInUse().size(), 2u);  // A and B, both on-link
  now_ns_ += 299 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 1u);
  now_ns_ += 2 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 0u);
  EXPECT_TRUE(main_->sessions().NextHopsInUse().empty());  // nothing left to keep resolved
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0"); }
