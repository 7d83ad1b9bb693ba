// `dprelay-peer wg` as a library: two bridges on threads against the fake relay
// (client_fake_relay.h), with plain UDP sockets playing each side's WireGuard. Datagrams
// cross byte for byte both ways, a move to a new port and a dead path both rebind, a new
// endpoint starts a new session on the same port, a stop ends a pending allocation, and the
// counters add up.
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/udp_socket.h"
#include "client/wg_bridge.h"
#include "client_fake_relay.h"
#include "gtest/gtest.h"

namespace dprelay::client {
namespace {

using ::dprelay::client::testing::FakeRelay;

AddrPort Loopback0() { return *ParseAddrPort("127.0.0.1:0"); }

// One bridge on its own thread, its output lines kept for the test to read.
class BridgeThread {
 public:
  BridgeThread(WgBridgeConfig config) : config_(std::move(config)) {
    thread_ = std::thread([this] {
      result_ = RunWgBridge(
          config_,
          [this](const std::string& line) {
            std::lock_guard<std::mutex> lock(mu_);
            lines_.push_back(line);
          },
          WgBridgeControl{.stop = &stop_, .move = &move_});
    });
  }
  ~BridgeThread() { Stop(); }

  // The first line starting with `prefix` and containing `part`, waiting up to `wait`.
  std::optional<std::string> WaitLine(const std::string& prefix, const std::string& part = "",
                                      absl::Duration wait = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + wait;
    while (absl::Now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const std::string& line : lines_) {
          if (line.starts_with(prefix) && absl::StrContains(line, part)) {
            return line;
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return std::nullopt;
  }

  // The WireGuard-facing address, from the "wg listen=" line.
  AddrPort WgListen() {
    std::optional<std::string> line = WaitLine("wg listen=");
    EXPECT_TRUE(line.has_value());
    const std::string text = line->substr(10, line->find(' ', 10) - 10);
    return *ParseAddrPort(text);
  }

  void Move() { move_.store(true); }
  const absl::StatusOr<WgBridgeStats>& Stop() {
    if (thread_.joinable()) {
      stop_.store(true);
      thread_.join();
    }
    return result_;
  }

 private:
  const WgBridgeConfig config_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> move_{false};
  std::mutex mu_;
  std::vector<std::string> lines_;
  absl::StatusOr<WgBridgeStats> result_ = absl::UnknownError("not run");
  std::thread thread_;
};

// The value after "local=" on a bound/rebound line.
std::string LocalOf(const std::string& line) {
  const size_t at = line.find("local=") + 6;
  return line.substr(at, line.find(' ', at) - at);
}

class WgBridgeTest : public ::testing::Test {
 protected:
  // The fake relay's bound address for `client`, once it is `want` (the bridge prints its
  // bound line when it has sent the Answer, before the relay has read it), waiting up to 5 s;
  // otherwise the last one seen ("none" while unbound).
  std::string WaitRelayBound(const DiscoKey& client, const std::string& want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    std::string seen;
    do {
      std::optional<AddrPort> bound = relay_.BoundAddr(client);
      seen = bound.has_value() ? FormatAddrPort(*bound) : "none";
      if (seen == want) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    } while (absl::Now() < deadline);
    return seen;
  }

  WgBridgeConfig Config(const DiscoKeyPair& self, const DiscoKey& peer) {
    WgBridgeConfig c;
    c.self = self;
    c.peer = peer;
    c.control = relay_.control_addr();
    c.control_key = relay_.control_key();
    c.local = Loopback0();
    c.wg_listen = Loopback0();
    c.path.ping_interval = absl::Milliseconds(100);
    c.path.dead_after = absl::Milliseconds(600);
    c.path.local_check_interval = absl::Milliseconds(50);
    c.bind_resend = absl::Milliseconds(200);
    c.bind_timeout = absl::Seconds(2);
    return c;
  }

  // Sends `payload` from `from` to `to`, and returns what `at` receives (and from where).
  std::vector<uint8_t> Cross(UdpSocket& from, const AddrPort& to, UdpSocket& at,
                             const std::vector<uint8_t>& payload, AddrPort* source = nullptr) {
    EXPECT_TRUE(from.SendTo(to, payload).ok());
    std::vector<uint8_t> buf(2048);
    AddrPort src;
    absl::StatusOr<std::optional<size_t>> got = at.ReceiveFrom(buf, &src, absl::Seconds(3));
    EXPECT_TRUE(got.ok() && got->has_value()) << "nothing arrived";
    if (!got.ok() || !got->has_value()) {
      return {};
    }
    if (source != nullptr) {
      *source = src;
    }
    buf.resize(**got);
    return buf;
  }

  FakeRelay relay_;
  const DiscoKeyPair a_ = GenerateKeyPair();
  const DiscoKeyPair b_ = GenerateKeyPair();
};

std::vector<uint8_t> Datagram(uint8_t tag, size_t len) {
  std::vector<uint8_t> d(len);
  for (size_t i = 0; i < len; ++i) {
    d[i] = static_cast<uint8_t>(tag + i * 7);
  }
  return d;
}

TEST_F(WgBridgeTest, CarriesWireGuardBothWaysAndFollowsAMove) {
  UdpSocket wg_a = *UdpSocket::Open(Loopback0());
  UdpSocket wg_b = *UdpSocket::Open(Loopback0());
  WgBridgeConfig config_a = Config(a_, b_.pub);
  config_a.wg_endpoint = wg_a.local();  // side b learns its WireGuard instead
  BridgeThread bridge_a(config_a);
  BridgeThread bridge_b(Config(b_, a_.pub));
  const AddrPort listen_a = bridge_a.WgListen();
  const AddrPort listen_b = bridge_b.WgListen();
  EXPECT_EQ(bridge_b.WaitLine("wg listen=").value_or(""),
            absl::StrCat("wg listen=", FormatAddrPort(listen_b), " endpoint=learn"));

  const std::optional<std::string> bound_a = bridge_a.WaitLine("bound vni=7 ");
  ASSERT_TRUE(bound_a.has_value());
  ASSERT_TRUE(bridge_a.WaitLine("pong from").has_value());
  ASSERT_TRUE(bridge_b.WaitLine("pong from").has_value());
  EXPECT_TRUE(absl::StrContains(*bound_a, "generation=1"));
  EXPECT_EQ(FormatAddrPort(*relay_.BoundAddr(a_.pub)), LocalOf(*bound_a));

  // Side b's WireGuard speaks first: the bridge learns it, and it crosses to side a.
  AddrPort source;
  EXPECT_EQ(Cross(wg_b, listen_b, wg_a, Datagram(1, 148), &source), Datagram(1, 148));
  EXPECT_EQ(source, listen_a);  // WireGuard sees its peer at the bridge's address
  ASSERT_TRUE(bridge_b.WaitLine("wg endpoint=", FormatAddrPort(wg_b.local())).has_value());
  EXPECT_EQ(Cross(wg_a, listen_a, wg_b, Datagram(2, 1420)), Datagram(2, 1420));
  EXPECT_EQ(Cross(wg_b, listen_b, wg_a, Datagram(3, 32)), Datagram(3, 32));

  // Anyone else writing to side a's WireGuard socket is dropped.
  UdpSocket stranger = *UdpSocket::Open(Loopback0());
  ASSERT_TRUE(stranger.SendTo(listen_a, Datagram(4, 64)).ok());

  // A new relay-facing port: noticed, rebound with a new generation, and the relay follows.
  bridge_a.Move();
  const std::optional<std::string> rebound = bridge_a.WaitLine("rebound ", "reason=local_changed");
  ASSERT_TRUE(rebound.has_value());
  EXPECT_TRUE(absl::StrContains(*rebound, "generation=2"));
  EXPECT_NE(LocalOf(*rebound), LocalOf(*bound_a));
  EXPECT_EQ(WaitRelayBound(a_.pub, LocalOf(*rebound)), LocalOf(*rebound));
  EXPECT_EQ(Cross(wg_a, listen_a, wg_b, Datagram(5, 600)), Datagram(5, 600));
  EXPECT_EQ(Cross(wg_b, listen_b, wg_a, Datagram(6, 600)), Datagram(6, 600));

  const absl::StatusOr<WgBridgeStats>& a = bridge_a.Stop();
  const absl::StatusOr<WgBridgeStats>& b = bridge_b.Stop();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->wg_received, 2u);
  EXPECT_EQ(a->to_relay, 2u);
  EXPECT_EQ(a->to_relay_bytes, 1420u + 600u);
  EXPECT_EQ(a->to_wg, 3u);
  EXPECT_EQ(a->dropped_foreign, 1u);
  EXPECT_EQ(a->moves, 1u);
  EXPECT_EQ(a->handshakes, 2u);
  EXPECT_EQ(a->rebinds[static_cast<size_t>(RebindReason::kLocalChanged)], 1u);
  EXPECT_EQ(b->to_relay, 3u);
  EXPECT_EQ(b->to_wg, 2u);
  EXPECT_EQ(b->session.data_received, 2u);
  EXPECT_GT(a->session.pings_sent, 0u);
  EXPECT_GT(a->session.pongs_received, 0u);
  // Everything the fake relay forwarded was something a bridge sent it.
  EXPECT_LE(relay_.counters().forwarded.load(), a->relayed_sent() + b->relayed_sent());
  EXPECT_GE(relay_.counters().forwarded.load(), a->relayed_received() + b->relayed_received());
  EXPECT_TRUE(absl::StrContains(a->Format(), "rebinds_local_changed=1"));
}

TEST_F(WgBridgeTest, ADeadPathRebinds) {
  BridgeThread bridge_a(Config(a_, b_.pub));
  {
    BridgeThread bridge_b(Config(b_, a_.pub));
    ASSERT_TRUE(bridge_a.WaitLine("pong from").has_value());
    ASSERT_TRUE(bridge_b.Stop().ok());
  }
  // Side b is gone: no more Pongs, so side a allocates again (same endpoint) and rebinds.
  const std::optional<std::string> rebound =
      bridge_a.WaitLine("rebound ", "reason=path_dead", absl::Seconds(5));
  ASSERT_TRUE(rebound.has_value());
  EXPECT_TRUE(absl::StrContains(*rebound, "vni=7 "));
  EXPECT_TRUE(absl::StrContains(*rebound, "generation=2"));
  const absl::StatusOr<WgBridgeStats>& a = bridge_a.Stop();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_GE(a->rebinds[static_cast<size_t>(RebindReason::kPathDead)], 1u);
  EXPECT_GE(a->allocations, 2u);
}

TEST_F(WgBridgeTest, ANewEndpointStartsANewSessionOnTheSamePort) {
  UdpSocket wg_a = *UdpSocket::Open(Loopback0());
  UdpSocket wg_b = *UdpSocket::Open(Loopback0());
  WgBridgeConfig config_a = Config(a_, b_.pub);
  config_a.wg_endpoint = wg_a.local();
  BridgeThread bridge_a(config_a);
  BridgeThread bridge_b(Config(b_, a_.pub));
  const AddrPort listen_a = bridge_a.WgListen();
  const AddrPort listen_b = bridge_b.WgListen();
  const std::optional<std::string> bound_a = bridge_a.WaitLine("bound vni=7 ");
  const std::optional<std::string> bound_b = bridge_b.WaitLine("bound vni=7 ");
  ASSERT_TRUE(bound_a.has_value());
  ASSERT_TRUE(bound_b.has_value());
  ASSERT_TRUE(bridge_a.WaitLine("pong from").has_value());
  ASSERT_TRUE(bridge_b.WaitLine("pong from").has_value());
  ASSERT_EQ(WaitRelayBound(a_.pub, LocalOf(*bound_a)), LocalOf(*bound_a));
  ASSERT_EQ(WaitRelayBound(b_.pub, LocalOf(*bound_b)), LocalOf(*bound_b));
  EXPECT_EQ(Cross(wg_b, listen_b, wg_a, Datagram(1, 200)), Datagram(1, 200));
  EXPECT_EQ(Cross(wg_a, listen_a, wg_b, Datagram(2, 200)), Datagram(2, 200));

  // The endpoint is gone and control hands out another: both paths go dead, both bridges
  // allocate, get the new endpoint, and start a new session bound to the port they had.
  relay_.ReplaceEndpoint(8, 2);
  ASSERT_TRUE(bridge_a.WaitLine("allocation vni=8 lamport=2 ").has_value());
  ASSERT_TRUE(bridge_b.WaitLine("allocation vni=8 lamport=2 ").has_value());
  const std::optional<std::string> rebound_a =
      bridge_a.WaitLine("rebound vni=8 ", "reason=endpoint_changed", absl::Seconds(5));
  const std::optional<std::string> rebound_b =
      bridge_b.WaitLine("rebound vni=8 ", "reason=endpoint_changed", absl::Seconds(5));
  ASSERT_TRUE(rebound_a.has_value());
  ASSERT_TRUE(rebound_b.has_value());
  EXPECT_TRUE(absl::StrContains(*rebound_a, "generation=1 ")) << *rebound_a;  // a new session
  EXPECT_EQ(LocalOf(*rebound_a), LocalOf(*bound_a));
  EXPECT_EQ(LocalOf(*rebound_b), LocalOf(*bound_b));
  EXPECT_EQ(WaitRelayBound(a_.pub, LocalOf(*bound_a)), LocalOf(*bound_a));
  EXPECT_EQ(WaitRelayBound(b_.pub, LocalOf(*bound_b)), LocalOf(*bound_b));
  // The peers answer each other's Pings through the new endpoint.
  ASSERT_TRUE(bridge_a.WaitLine("pong from", ":vni:8 ").has_value());
  ASSERT_TRUE(bridge_b.WaitLine("pong from", ":vni:8 ").has_value());

  // WireGuard crosses again both ways, to the endpoints the bridges already knew.
  AddrPort source;
  EXPECT_EQ(Cross(wg_b, listen_b, wg_a, Datagram(3, 1420), &source), Datagram(3, 1420));
  EXPECT_EQ(source, listen_a);
  EXPECT_EQ(Cross(wg_a, listen_a, wg_b, Datagram(4, 1420), &source), Datagram(4, 1420));
  EXPECT_EQ(source, listen_b);

  const absl::StatusOr<WgBridgeStats>& a = bridge_a.Stop();
  const absl::StatusOr<WgBridgeStats>& b = bridge_b.Stop();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->rebinds[static_cast<size_t>(RebindReason::kEndpointChanged)], 1u);
  EXPECT_EQ(b->rebinds[static_cast<size_t>(RebindReason::kEndpointChanged)], 1u);
  EXPECT_GE(a->allocations, 2u);
  EXPECT_GE(a->handshakes, 2u);
  EXPECT_EQ(a->to_relay, 2u);
  EXPECT_EQ(a->to_wg, 2u);
  EXPECT_EQ(b->to_relay, 2u);
  EXPECT_EQ(b->to_wg, 2u);
  // The first session's counters are kept: its Pongs came before the endpoint changed.
  EXPECT_GT(a->session.pongs_received, 0u);
  EXPECT_GE(a->session.answers_sent, 2u);
  EXPECT_TRUE(absl::StrContains(a->Format(), "rebinds_endpoint_changed=1"));
}

TEST_F(WgBridgeTest, AStopEndsAPendingAllocation) {
  FakeRelay silent({.answer_allocations = false});
  WgBridgeConfig config = Config(a_, b_.pub);
  config.control = silent.control_addr();
  config.control_key = silent.control_key();
  config.allocate_timeout = absl::Seconds(30);
  BridgeThread bridge(config);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (silent.counters().allocation_requests.load() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GT(silent.counters().allocation_requests.load(), 0u);
  const absl::Time stop_at = absl::Now();
  const absl::StatusOr<WgBridgeStats>& stats = bridge.Stop();
  EXPECT_LT(absl::Now() - stop_at, absl::Seconds(2));
  // Stopped, not failed: the bridge ends as on any other stop, with nothing counted.
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->allocations, 0u);
  EXPECT_EQ(stats->handshakes, 0u);
}

TEST_F(WgBridgeTest, ErrorsNameTheAddress) {
  UdpSocket taken = *UdpSocket::Open(Loopback0());
  WgBridgeConfig config = Config(a_, b_.pub);
  config.wg_listen = taken.local();
  std::atomic<bool> stop{true};
  absl::StatusOr<WgBridgeStats> r = RunWgBridge(
      config, [](const std::string&) {}, WgBridgeControl{.stop = &stop});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), FormatAddrPort(taken.local()))) << r.status();
}

}  // namespace
}  // namespace dprelay::client
