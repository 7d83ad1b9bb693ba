// The one-request-per-connection server (net/stream_server.h) over TCP on loopback: framing,
// the per-source and total caps with eviction, the header timeout, and their counters.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/stream_server.h"
#include "net/tcp_listener.h"
#include "proto/addr.h"
#include "tests/unit/stream_test_util.h"

namespace dprelay::net {
namespace {

using dprelay::testing::ClosedByServer;
using dprelay::testing::ConnectFrom;
using dprelay::testing::Exchange;
using dprelay::testing::PumpOnce;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

uint64_t Get(const StreamServer& s, StreamCounter c) {
  return s.counters()[static_cast<size_t>(c)];
}

// An echo-ish server: answers "got <request>\n", or "too long\n".
struct Fixture {
  explicit Fixture(StreamServerConfig config) {
    absl::StatusOr<TcpListener> l = ListenTcp(*ParseAddrPort("127.0.0.1:0"), 128, "test");
    EXPECT_TRUE(l.ok()) << l.status();
    port = l->port;
    config.terminator = "\n";
    server = std::make_unique<StreamServer>(
        std::move(l->fd), config, SourceByAddress,
        [](const StreamServer::Request& r, StreamServer::Reply reply) {
          reply(r.too_long ? "too long\n" : "got " + std::string(r.text) + "\n");
        });
  }
  ~Fixture() {
    for (int fd : fds) {
      close(fd);
    }
  }
  int Connect(const char* ip) {
    fds.push_back(ConnectFrom(server.get(), now, ip, port));
    return fds.back();
  }
  uint16_t port = 0;
  absl::Time now = kT0;
  std::unique_ptr<StreamServer> server;
  std::vector<int> fds;
};

TEST(StreamServerTest, AnswersOneRequestPerConnection) {
  Fixture f({});
  EXPECT_EQ(Exchange(f.server.get(), f.now, f.Connect("127.0.0.1"), "hello\n"), "got hello\n");
  EXPECT_EQ(Exchange(f.server.get(), f.now, f.Connect("127.0.0.1"), std::string(5000, 'x')),
            "too long\n");
  EXPECT_EQ(Get(*f.server, StreamCounter::kTooLong), 1u);
  EXPECT_EQ(Get(*f.server, StreamCounter::kAccepted), 2u);
  EXPECT_EQ(f.server->connections(), 0u);
}

TEST(StreamServerTest, ASourceAtItsCapGetsNoMoreOthersStillDo) {
  Fixture f({.max_connections = 64, .max_per_source = 8});
  for (int i = 0; i < 20; ++i) {
    f.Connect("127.0.0.2");
  }
  EXPECT_EQ(f.server->connections_from("127.0.0.2"), 8u);
  EXPECT_EQ(Get(*f.server, StreamCounter::kRefusedSourceCap), 12u);
  // The refused ones were closed at once; the first eight are still open.
  EXPECT_TRUE(ClosedByServer(f.server.get(), f.now, f.fds[8]));
  EXPECT_FALSE(ClosedByServer(f.server.get(), f.now, f.fds[0]));
  EXPECT_EQ(Exchange(f.server.get(), f.now, f.Connect("127.0.0.3"), "probe\n"), "got probe\n");
}

TEST(StreamServerTest, WhenFullANewSourceEvictsTheOldestOfTheSourceHoldingMost) {
  Fixture f({.max_connections = 4, .max_per_source = 4});
  const int a0 = f.Connect("127.0.0.2");
  const int a1 = f.Connect("127.0.0.2");
  f.Connect("127.0.0.2");
  f.Connect("127.0.0.3");
  ASSERT_EQ(f.server->connections(), 4u);
  // 127.0.0.4 holds nothing: 127.0.0.2 (three) loses its oldest.
  EXPECT_EQ(Exchange(f.server.get(), f.now, f.Connect("127.0.0.4"), "probe\n"), "got probe\n");
  EXPECT_EQ(Get(*f.server, StreamCounter::kEvicted), 1u);
  EXPECT_TRUE(ClosedByServer(f.server.get(), f.now, a0));
  EXPECT_FALSE(ClosedByServer(f.server.get(), f.now, a1));
  // Now .2 holds two, .3 one, and the server three: room for one more without evicting.
  f.Connect("127.0.0.3");
  EXPECT_EQ(Get(*f.server, StreamCounter::kEvicted), 1u);
  // Full at .2=2 .3=2: a newcomer from .2 or .3 holds as many as anyone: refused.
  const int refused = f.Connect("127.0.0.3");
  EXPECT_EQ(Get(*f.server, StreamCounter::kRefusedTotalCap), 1u);
  EXPECT_TRUE(ClosedByServer(f.server.get(), f.now, refused));
  EXPECT_EQ(f.server->connections_from("127.0.0.3"), 2u);
}

TEST(StreamServerTest, ARequestNotCompleteWithinTheHeaderTimeoutIsClosed) {
  Fixture f({.header_timeout = absl::Seconds(2)});
  const int slow = f.Connect("127.0.0.2");
  ASSERT_EQ(send(slow, "hel", 3, 0), 3);
  PumpOnce(f.server.get(), f.now);
  f.now += absl::Milliseconds(1900);
  EXPECT_FALSE(ClosedByServer(f.server.get(), f.now, slow));
  const int fresh = f.Connect("127.0.0.3");
  f.now += absl::Milliseconds(200);
  EXPECT_TRUE(ClosedByServer(f.server.get(), f.now, slow));
  EXPECT_EQ(Get(*f.server, StreamCounter::kHeaderTimeout), 1u);
  // The one that connected later still has its time.
  EXPECT_EQ(Exchange(f.server.get(), f.now, fresh, "x\n"), "got x\n");
  EXPECT_EQ(f.server->connections_from("127.0.0.2"), 0u);
}

TEST(StreamServerTest, ALateReplyAfterTheClientOrServerIsGoneDoesNothing) {
  absl::StatusOr<TcpListener> l = ListenTcp(*ParseAddrPort("127.0.0.1:0"), 16, "test");
  ASSERT_TRUE(l.ok());
  const uint16_t port = l->port;
  std::vector<StreamServer::Reply> held;
  auto server = std::make_unique<StreamServer>(
      std::move(l->fd), StreamServerConfig{.terminator = "\n"}, SourceByAddress,
      [&](const StreamServer::Request&, StreamServer::Reply reply) { held.push_back(reply); });
  const int fd = ConnectFrom(server.get(), kT0, "127.0.0.1", port);
  ASSERT_EQ(send(fd, "x\n", 2, 0), 2);
  PumpOnce(server.get(), kT0);
  ASSERT_EQ(held.size(), 1u);
  // The client gives up while the handler works (a half-closed TCP client may still want its
  // answer, so the connection waits for it).
  close(fd);
  PumpOnce(server.get(), kT0);
  held[0]("late\n");  // written into a closed connection, or failing: either way it is closed
  EXPECT_EQ(server->connections(), 0u);
  server.reset();
  held[0]("later\n");
}

TEST(StreamServerTest, SourcesAreIpv4AddressesOrIpv6Slash64s) {
  auto source = [](const char* text) {
    sockaddr_storage ss{};
    const socklen_t len = ToSockaddr(*ParseAddrPort(text), &ss);
    return SourceByAddress(-1, ss, len);
  };
  EXPECT_EQ(source("203.0.113.7:5000"), "203.0.113.7");
  EXPECT_EQ(source("[2001:db8:1:2:aaaa::1]:5000"), "2001:db8:1:2::/64");
  EXPECT_EQ(source("[2001:db8:1:2:bbbb::9]:6000"), "2001:db8:1:2::/64");
  EXPECT_EQ(source("[::ffff:198.51.100.1]:5000"), "198.51.100.1");
}

}  // namespace
}  // namespace dprelay::net
