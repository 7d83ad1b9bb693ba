// The client against a relay and control process played in-process on 127.0.0.1
// (client_fake_relay.h): allocation, the handshake, ping/pong, data, rebind, and the whole
// `run` scenario with two peers, all with real crypto and kernel sockets.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/allocate.h"
#include "client/payload.h"
#include "client/peer_run.h"
#include "client/relay_session.h"
#include "client/send_raw.h"
#include "client/udp_socket.h"
#include "client_fake_relay.h"
#include "gtest/gtest.h"
#include "proto/geneve.h"

namespace dprelay::client {
namespace {

using ::dprelay::client::testing::FakeRelay;
using ::dprelay::client::testing::FakeRelayOptions;

AddrPort Loopback0() { return *ParseAddrPort("127.0.0.1:0"); }

UdpSocket OpenSocket() {
  absl::StatusOr<UdpSocket> s = UdpSocket::Open(Loopback0());
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

std::string Message(const absl::Status& s) { return absl::StrCat(s.message()); }

// Whether `line` has the shape `pattern`, where "<n>" stands for one or more decimal digits,
// "<hex>" for one or more lowercase hex digits, and everything else is literal. (std::regex
// trips GCC 12's -Wmaybe-uninitialized under sanitizers.)
bool HasShape(std::string_view line, std::string_view pattern) {
  if (pattern.empty()) {
    return line.empty();
  }
  for (auto [token, chars] : {std::pair<std::string_view, std::string_view>{"<n>", "0123456789"},
                              {"<hex>", "0123456789abcdef"}}) {
    if (pattern.starts_with(token)) {
      size_t run = 0;
      while (run < line.size() && chars.find(line[run]) != std::string_view::npos) {
        ++run;
      }
      for (size_t take = run; take >= 1; --take) {
        if (HasShape(line.substr(take), pattern.substr(token.size()))) {
          return true;
        }
      }
      return false;
    }
  }
  return !line.empty() && line[0] == pattern[0] && HasShape(line.substr(1), pattern.substr(1));
}

class LoopbackTest : public ::testing::Test {
 protected:
  AllocateConfig AllocConfig(const FakeRelay& relay, const DiscoKeyPair& self,
                             const DiscoKey& peer) {
    AllocateConfig c;
    c.self = self;
    c.peer = peer;
    c.control = relay.control_addr();
    c.control_key = relay.control_key();
    return c;
  }

  std::unique_ptr<RelaySession> MakeSession(const FakeRelay& relay, const DiscoKeyPair& self,
                                            const DiscoKey& peer, UdpSocket socket) {
    absl::StatusOr<UdpRelayEndpoint> ep = Allocate(AllocConfig(relay, self, peer), socket);
    EXPECT_TRUE(ep.ok()) << ep.status();
    RelaySessionConfig config;
    config.self = self;
    config.peer = peer;
    config.endpoint = *ep;
    config.bind_timeout = absl::Seconds(5);
    config.bind_resend = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<RelaySession>> s =
        RelaySession::Create(std::move(config), std::move(socket));
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  }

  // Receives on `s` until an event of `kind` arrives; other sessions in `pump` are serviced
  // meanwhile so they can answer Pings.
  SessionEvent WaitFor(RelaySession& s, SessionEvent::Kind kind,
                       const std::vector<RelaySession*>& pump = {}) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      for (RelaySession* p : pump) {
        absl::StatusOr<SessionEvent> e = p->Receive(absl::Milliseconds(5));
        EXPECT_TRUE(e.ok()) << e.status();
      }
      absl::StatusOr<SessionEvent> e = s.Receive(absl::Milliseconds(20));
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok() && e->kind == kind) {
        return *e;
      }
    }
    ADD_FAILURE() << "no event of the expected kind";
    return {};
  }

  const DiscoKeyPair a_ = GenerateKeyPair();
  const DiscoKeyPair b_ = GenerateKeyPair();
};

TEST(HasShapeTest, MatchesOnlyTheShape) {
  EXPECT_TRUE(HasShape("rtt=12us", "rtt=<n>us"));
  EXPECT_FALSE(HasShape("rtt=us", "rtt=<n>us"));
  EXPECT_FALSE(HasShape("rtt=1x2us", "rtt=<n>us"));
  EXPECT_TRUE(HasShape("d:00ff", "d:<hex>"));
  EXPECT_FALSE(HasShape("d:00FF", "d:<hex>"));
  EXPECT_TRUE(HasShape("a 1 2", "a <n> <n>"));
  EXPECT_FALSE(HasShape("a 1 2 ", "a <n> <n>"));
}

TEST_F(LoopbackTest, AllocateReturnsTheSealedEndpoint) {
  FakeRelay relay;
  UdpSocket socket = OpenSocket();
  AllocateStats stats;
  absl::StatusOr<UdpRelayEndpoint> ep = Allocate(AllocConfig(relay, a_, b_.pub), socket, &stats);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->vni, 7u);
  EXPECT_EQ(ep->lamport_id, 1u);
  EXPECT_EQ(ep->server_disco, relay.server_key());
  EXPECT_EQ(ep->client_disco, SortedPair(a_.pub, b_.pub));
  ASSERT_EQ(ep->addr_ports.size(), 1u);
  EXPECT_EQ(ep->addr_ports[0], relay.relay_addr());
  EXPECT_EQ(stats.requests_sent, 1u);
  EXPECT_EQ(FormatAllocation(*ep),
            absl::StrCat("allocation vni=7 lamport=1 server=", FormatDiscoKey(relay.server_key()),
                         " addrs=", FormatAddrPort(relay.relay_addr()),
                         " bind_lifetime=30s steady_state_lifetime=5m"));
}

TEST_F(LoopbackTest, AllocateResendsOnceAndIgnoresOtherGenerations) {
  FakeRelayOptions options;
  options.drop_allocation_requests = 1;
  options.send_wrong_generation_first = true;
  FakeRelay relay(options);
  UdpSocket socket = OpenSocket();
  AllocateConfig config = AllocConfig(relay, a_, b_.pub);
  config.resend_after = absl::Milliseconds(200);
  config.timeout = absl::Seconds(3);
  config.generation = 77;
  AllocateStats stats;
  absl::StatusOr<UdpRelayEndpoint> ep = Allocate(config, socket, &stats);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(stats.requests_sent, 2u);
  EXPECT_EQ(stats.ignored, 1u);  // the response for generation 78
}

TEST_F(LoopbackTest, AllocateTimesOutNamingTheAddress) {
  FakeRelayOptions options;
  options.answer_allocations = false;
  FakeRelay relay(options);
  UdpSocket socket = OpenSocket();
  AllocateConfig config = AllocConfig(relay, a_, b_.pub);
  config.resend_after = absl::Milliseconds(100);
  config.timeout = absl::Milliseconds(400);
  AllocateStats stats;
  absl::StatusOr<UdpRelayEndpoint> ep = Allocate(config, socket, &stats);
  ASSERT_FALSE(ep.ok());
  EXPECT_EQ(ep.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Message(ep.status()),
            absl::StrCat("no allocation response from ", FormatAddrPort(relay.control_addr()),
                         " after 400ms"));
  EXPECT_EQ(stats.requests_sent, 2u);  // the first and exactly one resend
  EXPECT_EQ(relay.counters().allocation_requests.load(), 2u);
  // The resend is sealed afresh: a relay with replay protection answers it.
  EXPECT_EQ(relay.counters().allocation_nonce_reuses.load(), 0u);
}

TEST_F(LoopbackTest, BothSidesGetTheSameEndpoint) {
  FakeRelay relay;
  UdpSocket sa = OpenSocket();
  UdpSocket sb = OpenSocket();
  absl::StatusOr<UdpRelayEndpoint> ea = Allocate(AllocConfig(relay, a_, b_.pub), sa);
  absl::StatusOr<UdpRelayEndpoint> eb = Allocate(AllocConfig(relay, b_, a_.pub), sb);
  ASSERT_TRUE(ea.ok() && eb.ok());
  EXPECT_EQ(FormatAllocation(*ea), FormatAllocation(*eb));
}

TEST_F(LoopbackTest, HandshakeEchoesTheChallengeThenPingsAndDataFlow) {
  FakeRelayOptions options;
  // An advertised address nothing listens on: Binds go there too, the Challenge comes from
  // the real one, and that becomes the relay address.
  options.extra_addrs.push_back(*ParseAddrPort("127.0.0.1:9"));
  FakeRelay relay(options);
  std::unique_ptr<RelaySession> a = MakeSession(relay, a_, b_.pub, OpenSocket());
  std::unique_ptr<RelaySession> b = MakeSession(relay, b_, a_.pub, OpenSocket());
  ASSERT_TRUE(a->Bind().ok());
  ASSERT_TRUE(b->Bind().ok());
  EXPECT_EQ(a->relay_addr(), relay.relay_addr());
  EXPECT_EQ(a->generation(), 1u);
  EXPECT_EQ(a->stats().binds_sent, 2u);  // one round, to both addresses
  EXPECT_EQ(a->stats().answers_sent, 1u);
  EXPECT_EQ(a->PathName(), absl::StrCat(FormatAddrPort(relay.relay_addr()), ":vni:7"));

  // The relay sends nothing back for an Answer; wait until it has processed both.
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (relay.counters().answers_matched.load() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(relay.counters().answers_matched.load(), 2u);
  EXPECT_EQ(relay.counters().answers_mismatched.load(), 0u);
  EXPECT_EQ(relay.BoundAddr(a_.pub), a->socket().local());

  absl::StatusOr<TxId> tx = a->SendPing();
  ASSERT_TRUE(tx.ok()) << tx.status();
  SessionEvent pong = WaitFor(*a, SessionEvent::Kind::kPong, {b.get()});
  EXPECT_EQ(pong.tx_id, *tx);
  EXPECT_EQ(pong.via, relay.relay_addr());
  EXPECT_GT(pong.rtt, absl::ZeroDuration());
  EXPECT_EQ(b->stats().pings_received, 1u);
  EXPECT_EQ(b->stats().pongs_sent, 1u);

  const std::vector<uint8_t> ab = MakePayload(5, a_.pub, 300);
  ASSERT_TRUE(a->SendData(ab).ok());
  SessionEvent got = WaitFor(*b, SessionEvent::Kind::kData);
  EXPECT_EQ(got.data, ab);
  const std::vector<uint8_t> ba = {4, 5, 6};
  ASSERT_TRUE(b->SendData(ba).ok());
  got = WaitFor(*a, SessionEvent::Kind::kData);
  EXPECT_EQ(got.data, ba);
  EXPECT_EQ(a->stats().ignored_total(), 0u) << a->stats().Format();
}

TEST_F(LoopbackTest, BindTimesOutWithoutChallenge) {
  FakeRelayOptions options;
  options.answer_binds = false;
  FakeRelay relay(options);
  std::unique_ptr<RelaySession> a = MakeSession(relay, a_, b_.pub, OpenSocket());
  absl::Status s = a->Bind(absl::Milliseconds(500));
  ASSERT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_EQ(Message(s).rfind(absl::StrCat("no challenge from ", FormatAddrPort(relay.relay_addr()),
                                          " after 500ms"),
                             0),
            0u)
      << s;
  EXPECT_FALSE(a->bound());
  EXPECT_GE(a->stats().binds_sent, 3u);  // resent every 200 ms
  EXPECT_FALSE(a->SendData(std::vector<uint8_t>{1}).ok());
}

TEST_F(LoopbackTest, RebindFromANewPortMovesTheLeg) {
  FakeRelay relay;
  std::unique_ptr<RelaySession> a = MakeSession(relay, a_, b_.pub, OpenSocket());
  std::unique_ptr<RelaySession> b = MakeSession(relay, b_, a_.pub, OpenSocket());
  ASSERT_TRUE(a->Bind().ok());
  ASSERT_TRUE(b->Bind().ok());
  const AddrPort old_local = a->socket().local();

  ASSERT_TRUE(a->ReopenSocket(Loopback0()).ok());
  EXPECT_FALSE(a->bound());
  EXPECT_NE(a->socket().local(), old_local);
  ASSERT_TRUE(a->Rebind().ok());
  EXPECT_EQ(a->generation(), 2u);
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (relay.BoundAddr(a_.pub) != a->socket().local() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(relay.BoundAddr(a_.pub), a->socket().local());

  const std::vector<uint8_t> payload = MakePayload(1, b_.pub, 64);
  ASSERT_TRUE(b->SendData(payload).ok());
  EXPECT_EQ(WaitFor(*a, SessionEvent::Kind::kData).data, payload);
  ASSERT_TRUE(a->SendData(payload).ok());
  EXPECT_EQ(WaitFor(*b, SessionEvent::Kind::kData).data, payload);
}

TEST_F(LoopbackTest, IgnoresAndCountsWhatIsNotForIt) {
  FakeRelay relay;
  std::unique_ptr<RelaySession> a = MakeSession(relay, a_, b_.pub, OpenSocket());
  std::unique_ptr<RelaySession> b = MakeSession(relay, b_, a_.pub, OpenSocket());
  ASSERT_TRUE(a->Bind().ok());
  ASSERT_TRUE(b->Bind().ok());

  // From a stranger: not Geneve, and well-formed data from a source that is not the relay.
  UdpSocket stranger = OpenSocket();
  ASSERT_TRUE(stranger.SendTo(a->socket().local(), std::vector<uint8_t>{1, 2, 3}).ok());
  std::vector<uint8_t> data(kGeneveHeaderLen + 4);
  ASSERT_TRUE(
      EncodeGeneve({.version = 0, .control = false, .protocol = kGeneveProtocolWireGuard, .vni = 7},
                   std::span<uint8_t>(data.data(), kGeneveHeaderLen))
          .ok());
  ASSERT_TRUE(stranger.SendTo(a->socket().local(), data).ok());
  // Right source, wrong VNI: forwarded by nobody, but send it straight from the relay's
  // address is not possible here, so use another VNI from the stranger too.
  data[6] = 8;
  ASSERT_TRUE(stranger.SendTo(a->socket().local(), data).ok());
  for (int i = 0; i < 10 && a->stats().ignored_total() < 3; ++i) {
    absl::StatusOr<SessionEvent> e = a->Receive(absl::Milliseconds(50));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->kind, SessionEvent::Kind::kNone);
  }
  const auto& ignored = a->stats().ignored;
  EXPECT_EQ(ignored[static_cast<size_t>(IgnoreReason::kNotGeneve)], 1u);
  EXPECT_EQ(ignored[static_cast<size_t>(IgnoreReason::kNotFromRelay)], 1u);
  EXPECT_EQ(ignored[static_cast<size_t>(IgnoreReason::kWrongVni)], 1u);

  // Unbound data sent to the relay is not forwarded to anyone.
  SendRawConfig raw;
  raw.relay = relay.relay_addr();
  raw.vni = 7;
  raw.count = 5;
  raw.local = Loopback0();
  absl::StatusOr<uint64_t> sent = SendRaw(raw);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 5u);
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (relay.counters().dropped_unbound.load() < 5 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(relay.counters().dropped_unbound.load(), 5u);
  EXPECT_EQ(relay.counters().forwarded.load(), 0u);
  absl::StatusOr<SessionEvent> e = b->Receive(absl::Milliseconds(100));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, SessionEvent::Kind::kNone);
}

// Runs two RunPeer()s against each other, as two `dprelay-peer run` processes would.
struct PeerTranscript {
  absl::StatusOr<PeerRunResult> result = absl::UnknownError("not run");
  std::vector<std::string> lines;
};

void RunPair(const FakeRelay& relay, const DiscoKeyPair& a, const DiscoKeyPair& b,
             PeerRunConfig base, PeerTranscript* ta, PeerTranscript* tb) {
  auto run = [&](const DiscoKeyPair& self, const DiscoKey& peer, PeerTranscript* t) {
    PeerRunConfig config = base;
    config.self = self;
    config.peer = peer;
    config.control = relay.control_addr();
    config.control_key = relay.control_key();
    config.local = Loopback0();
    t->result = RunPeer(config, [t](const std::string& line) { t->lines.push_back(line); });
  };
  std::thread other([&] { run(b, a.pub, tb); });
  // Start the second a little later, as two processes would.
  absl::SleepFor(absl::Milliseconds(300));
  run(a, b.pub, ta);
  other.join();
}

TEST_F(LoopbackTest, RunExchangesVerifiedDataBothWays) {
  FakeRelay relay;
  PeerRunConfig base;
  base.count = 300;
  base.size = 200;
  base.pings = 3;
  base.packets_per_second = 3000;
  base.timeout = absl::Seconds(30);
  base.ping_interval = absl::Milliseconds(50);
  base.linger = absl::Milliseconds(300);
  PeerTranscript ta, tb;
  RunPair(relay, a_, b_, base, &ta, &tb);

  for (const PeerTranscript* t : {&ta, &tb}) {
    ASSERT_TRUE(t->result.ok()) << t->result.status();
    const PeerRunResult& r = *t->result;
    EXPECT_TRUE(r.ok()) << r.SummaryLine() << " " << r.session.Format();
    EXPECT_EQ(r.sent, 300u);
    EXPECT_EQ(r.received, 300u);
    EXPECT_EQ(r.corrupt, 0u);
    EXPECT_EQ(r.duplicates, 0u);
    EXPECT_FALSE(r.timed_out);
    EXPECT_GE(r.rtt_samples, 1u);
    EXPECT_LE(r.rtt_min, r.rtt_max);

    ASSERT_EQ(t->lines.size(), 2u + 3u + 1u) << absl::StrJoin(t->lines, "\n");
    EXPECT_TRUE(HasShape(t->lines[0],
                         "allocation vni=7 lamport=1 server=discokey:<hex> addrs=127.0.0.1:<n> "
                         "bind_lifetime=30s steady_state_lifetime=5m"))
        << t->lines[0];
    EXPECT_TRUE(HasShape(t->lines[1], "bound vni=7 relay=127.0.0.1:<n> local=127.0.0.1:<n>"))
        << t->lines[1];
    for (int i = 2; i < 5; ++i) {
      EXPECT_TRUE(HasShape(t->lines[i], "pong from d:<hex> via 127.0.0.1:<n>:vni:7 rtt=<n>us"))
          << t->lines[i];
    }
    EXPECT_TRUE(
        HasShape(t->lines[5],
                 "sent=300 received=300 corrupt=0 rtt_min=<n>us rtt_avg=<n>us rtt_max=<n>us "
                 "max_gap=<n>us"))
        << t->lines[5];
  }
  EXPECT_NE(ta.lines[2].find(ShortDisco(b_.pub)), std::string::npos);
  EXPECT_NE(tb.lines[2].find(ShortDisco(a_.pub)), std::string::npos);
  EXPECT_EQ(relay.counters().answers_mismatched.load(), 0u);
}

TEST_F(LoopbackTest, RunUnpacedWithoutMeasuredPings) {
  FakeRelay relay;
  PeerRunConfig base;
  base.count = 200;
  base.size = 8;  // sequence number only
  base.pings = 0;
  base.packets_per_second = 0;
  base.timeout = absl::Seconds(20);
  base.ping_interval = absl::Milliseconds(50);
  base.linger = absl::Milliseconds(200);
  PeerTranscript ta, tb;
  RunPair(relay, a_, b_, base, &ta, &tb);
  for (const PeerTranscript* t : {&ta, &tb}) {
    ASSERT_TRUE(t->result.ok()) << t->result.status();
    EXPECT_TRUE(t->result->ok()) << t->result->SummaryLine();
    // allocation, bound, summary: no pong lines without measured pings, but the probe's RTT
    // is reported.
    ASSERT_EQ(t->lines.size(), 3u);
    EXPECT_EQ(t->lines[2].rfind("sent=200 received=200 corrupt=0 rtt_min=", 0), 0u);
    EXPECT_EQ(t->result->rtt_samples, 1u);
  }
}

TEST_F(LoopbackTest, RunCountsCorruptionAndFails) {
  FakeRelayOptions options;
  options.corrupt_nth_data = 10;
  FakeRelay relay(options);
  PeerRunConfig base;
  base.count = 50;
  base.pings = 0;
  base.timeout = absl::Seconds(4);
  base.ping_interval = absl::Milliseconds(50);
  base.linger = absl::Milliseconds(200);
  PeerTranscript ta, tb;
  RunPair(relay, a_, b_, base, &ta, &tb);
  ASSERT_TRUE(ta.result.ok()) << ta.result.status();
  ASSERT_TRUE(tb.result.ok()) << tb.result.status();
  // Exactly one side got the damaged packet; it misses that sequence number and times out.
  const uint64_t corrupt = ta.result->corrupt + tb.result->corrupt;
  EXPECT_EQ(corrupt, 1u);
  const PeerRunResult& victim = ta.result->corrupt == 1 ? *ta.result : *tb.result;
  EXPECT_FALSE(victim.ok());
  EXPECT_EQ(victim.received, 49u);
  EXPECT_TRUE(victim.timed_out);
  EXPECT_GT(victim.pongs, 0u);  // --pings=0 still needs the peer to answer once
  EXPECT_GT(victim.rtt_samples, 0u);
}

TEST_F(LoopbackTest, RunWithoutRelayFailsOnAllocation) {
  FakeRelayOptions options;
  options.answer_allocations = false;
  FakeRelay relay(options);
  PeerRunConfig config;
  config.self = a_;
  config.peer = b_.pub;
  config.control = relay.control_addr();
  config.control_key = relay.control_key();
  config.local = Loopback0();
  config.timeout = absl::Milliseconds(500);
  std::vector<std::string> lines;
  absl::StatusOr<PeerRunResult> r =
      RunPeer(config, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Message(r.status()).find("no allocation response from"), std::string::npos);
  EXPECT_TRUE(lines.empty());
}

}  // namespace
}  // namespace dprelay::client
