// The health endpoint: what "forwarding" means (HealthMonitor), the HTTP answers, and the whole
// thing over real HTTP on loopback, from control's own loop with a fake dataplane that answers
// its stats polls, stops answering, and goes away.
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "control/control_server.h"
#include "control/health.h"
#include "control/health_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/control_test_util.h"
#include "tests/unit/http_client.h"
#include "tests/unit/stream_test_util.h"

namespace dprelay::control {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using State = DataplaneLink::State;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

DataplaneCounterValues Cycles(uint64_t v) {
  DataplaneCounterValues c;
  c[DataplaneCounter::kRxPackets] = 5;
  c[DataplaneCounter::kWorkerCycles] = v;
  return c;
}

TEST(HealthMonitorTest, HealthyOnlyWhileReadyAnsweringAndAdvancing) {
  HealthMonitor h;
  EXPECT_EQ(h.Check(kT0, State::kDisconnected).reason, "dataplane not connected");
  EXPECT_FALSE(h.Check(kT0, State::kSyncing).healthy);
  EXPECT_EQ(h.Check(kT0, State::kReady).reason, "dataplane has not answered a stats poll yet");
  h.OnStats(kT0, Cycles(1000));
  EXPECT_TRUE(h.Check(kT0 + absl::Milliseconds(500), State::kReady).healthy);
  EXPECT_EQ(h.Check(kT0, State::kReady).reason, "ok");
  // Not ready wins over fresh stats.
  EXPECT_EQ(h.Check(kT0, State::kConnecting).reason, "dataplane not connected");
  // Polls answered every second, workers advancing: healthy throughout.
  for (int s = 1; s <= 5; ++s) {
    h.OnStats(kT0 + absl::Seconds(s), Cycles(1000 + s));
    EXPECT_TRUE(h.Check(kT0 + absl::Seconds(s) + absl::Milliseconds(900), State::kReady).healthy);
  }
  // The dataplane stops answering (main lcore stuck or gone).
  const absl::Time last = kT0 + absl::Seconds(5);
  EXPECT_TRUE(h.Check(last + HealthMonitor::kMaxStatsAge, State::kReady).healthy);
  HealthVerdict v = h.Check(last + absl::Milliseconds(2500), State::kReady);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "dataplane has not answered a stats poll for 2.5s");
  // It answers, but the workers' counter is frozen: unhealthy once the stall passes 3 s.
  for (int s = 6; s <= 8; ++s) {
    h.OnStats(kT0 + absl::Seconds(s), Cycles(1005));
    EXPECT_TRUE(h.Check(kT0 + absl::Seconds(s), State::kReady).healthy) << s;
  }
  h.OnStats(kT0 + absl::Seconds(9), Cycles(1005));
  v = h.Check(kT0 + absl::Seconds(9), State::kReady);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "dataplane worker loops have not advanced for 4s");
  // A restarted dataplane counts from zero again: that is movement.
  h.OnStats(kT0 + absl::Seconds(10), Cycles(0));
  EXPECT_TRUE(h.Check(kT0 + absl::Seconds(10), State::kReady).healthy);
}

TEST(HealthMonitorTest, WorkerLoopsNeverSeenMovingIsUnhealthy) {
  HealthMonitor h;
  h.OnStats(kT0, Cycles(0));
  EXPECT_EQ(h.Check(kT0, State::kReady).reason, "dataplane worker loops not seen advancing yet");
}

TEST(HealthHttpTest, AnswersEachKindOfRequest) {
  const HealthVerdict ok{true, "ok"};
  const HealthVerdict down{false, "dataplane not connected"};
  EXPECT_EQ(HealthHttpResponse("GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080", ok),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\nok\n");
  const std::string unavailable = HealthHttpResponse("GET /healthz HTTP/1.0", down);
  EXPECT_THAT(unavailable, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(unavailable, HasSubstr("Content-Length: 24\r\n"));
  EXPECT_THAT(unavailable, EndsWith("\r\n\r\ndataplane not connected\n"));
  EXPECT_THAT(HealthHttpResponse("GET /healthz?x=1 HTTP/1.1", ok), StartsWith("HTTP/1.1 200 "));
  const std::string head = HealthHttpResponse("HEAD /healthz HTTP/1.1", ok);
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, EndsWith("\r\n\r\n"));  // no body
  EXPECT_THAT(HealthHttpResponse("GET / HTTP/1.1", ok), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(HealthHttpResponse("POST /healthz HTTP/1.1", ok), StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(HealthHttpResponse("GET /healthz", ok), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(HealthHttpResponse("GET /healthz HTTP/2.0", ok), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(HealthHttpResponse("GET  /healthz HTTP/1.1", ok), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(HealthHttpResponse("", ok), StartsWith("HTTP/1.1 400 "));
}

int Connect(uint16_t port) { return dprelay::testing::ConnectLoopback(port); }
std::string Get(uint16_t port, const std::string& request) {
  return dprelay::testing::HttpExchange(port, request);
}

std::string Body(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// Runs a HealthServer's poll loop on a thread, as the control loop would.
class ServerLoop {
 public:
  explicit ServerLoop(HealthServer* s) : s_(s), t_([this] { Run(); }) {}
  ~ServerLoop() {
    stop_ = true;
    t_.join();
  }
  absl::Time now() const { return absl::FromUnixNanos(now_ns_.load()); }
  void Advance(absl::Duration d) { now_ns_ += absl::ToInt64Nanoseconds(d); }

 private:
  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds;
      s_->AppendPollFds(&fds);
      poll(fds.data(), fds.size(), 10);
      s_->OnEvents(fds, 0, now());
      s_->ExpireIdle(now());
    }
  }
  HealthServer* s_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> now_ns_{absl::ToUnixNanos(kT0)};
  std::thread t_;
};

TEST(HealthServerTest, ServesTheProbesVerdictOverHttp) {
  std::atomic<bool> healthy{true};
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Listen(*ParseAddrPort("127.0.0.1:0"), [&] {
        return healthy ? HealthVerdict{true, "ok"} : HealthVerdict{false, "workers stuck"};
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);
  ServerLoop loop(server->get());
  // An AWS NLB HTTP health check's request.
  const std::string nlb =
      "GET /healthz HTTP/1.1\r\nHost: 10.77.0.1:8080\r\n"
      "User-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip\r\n\r\n";
  std::string r = Get(port, nlb);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(r), "ok\n");
  healthy = false;
  r = Get(port, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_EQ(Body(r), "workers stuck\n");
  EXPECT_THAT(Get(port, "GET /metrics HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.1 404 "));
  // Sent in pieces: answered once the head is complete.
  {
    int fd = Connect(port);
    ASSERT_EQ(send(fd, "GET /hea", 8, 0), 8);
    usleep(50'000);
    ASSERT_EQ(send(fd, "lthz HTTP/1.1\r\n\r\n", 17, 0), 17);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    EXPECT_THAT(std::string(buf, static_cast<size_t>(n)), StartsWith("HTTP/1.1 503 "));
    close(fd);
  }
  // Oversized heads are refused.
  EXPECT_THAT(Get(port, "GET /healthz HTTP/1.1\r\nX: " + std::string(5000, 'a') + "\r\n\r\n"),
              StartsWith("HTTP/1.1 400 "));
  // A TCP-only health check (connect, close) leaves nothing behind; a silent client is closed
  // after the request timeout.
  close(Connect(port));
  int silent = Connect(port);
  timeval tv{.tv_sec = 0, .tv_usec = 100'000};
  setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  EXPECT_EQ(recv(silent, &c, 1, 0), -1);  // not closed before its time
  // The server may accept it only some time after connect returned (under load, after the
  // closed one): advance its clock until it has, then past the timeout.
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    loop.Advance(HealthServer::kHeaderTimeout + absl::Seconds(1));
    closed = recv(silent, &c, 1, 0) == 0;
  }
  EXPECT_TRUE(closed) << "the silent client was never closed";
  // And the TCP-only check's connection is gone too: nothing is left behind.
  for (int i = 0; i < 100 && (*server)->connections() != 0; ++i) {
    usleep(10'000);
  }
  EXPECT_EQ((*server)->connections(), 0u);
  close(silent);
}

TEST(HealthServerTest, AnAddressInUseIsAnErrorNamingTheFlag) {
  auto probe = [] { return HealthVerdict{true, "ok"}; };
  absl::StatusOr<std::unique_ptr<HealthServer>> first =
      HealthServer::Listen(*ParseAddrPort("127.0.0.1:0"), probe);
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<HealthServer>> second =
      HealthServer::Listen(*ParseAddrPort(taken), probe);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("--health_listen=" + taken));
}

// Issue 10 item 7: a load balancer's probe is answered however many idle connections others
// hold. The server runs on this thread (tests/unit/stream_test_util.h) with its own clock.
class HealthStarvationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HealthServer>> s =
        HealthServer::Listen(*ParseAddrPort("127.0.0.1:0"), [] {
          return HealthVerdict{true, "ok"};
        });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  void TearDown() override {
    for (int fd : fds_) {
      close(fd);
    }
  }
  int ConnectFrom(const char* ip) {
    fds_.push_back(dprelay::testing::ConnectFrom(server_.get(), now_, ip, server_->port()));
    return fds_.back();
  }
  std::string Probe() {
    return dprelay::testing::Exchange(server_.get(), now_, ConnectFrom("127.0.0.1"),
                                      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  uint64_t Count(net::StreamCounter c) const { return server_->counters()[static_cast<size_t>(c)]; }

  std::unique_ptr<HealthServer> server_;
  absl::Time now_ = kT0;
  std::vector<int> fds_;
};

TEST_F(HealthStarvationTest, IdleConnectionsFromOneSourceDoNotStarveAProbe) {
  for (int i = 0; i < 100; ++i) {
    ConnectFrom("127.0.0.2");
  }
  EXPECT_THAT(Probe(), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Count(net::StreamCounter::kRefusedSourceCap), 100 - HealthServer::kMaxPerSource);
}

TEST_F(HealthStarvationTest, IdleConnectionsFromManySourcesDoNotStarveAProbe) {
  // Eight sources at their per-source cap fill the server (8 x 8 = 64).
  for (int source = 2; source < 10; ++source) {
    const std::string ip = "127.0.0." + std::to_string(source);
    for (size_t i = 0; i < HealthServer::kMaxPerSource; ++i) {
      ConnectFrom(ip.c_str());
    }
  }
  ASSERT_EQ(server_->connections(), HealthServer::kMaxConnections);
  EXPECT_THAT(Probe(), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(Probe(), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Count(net::StreamCounter::kEvicted), 1u) << "the second probe found room";
}

TEST_F(HealthStarvationTest, TheHeaderTimeoutClosesASlowClient) {
  const int slow = ConnectFrom("127.0.0.2");
  ASSERT_EQ(send(slow, "GET /healthz HT", 15, 0), 15);
  dprelay::testing::PumpOnce(server_.get(), now_);
  now_ += absl::Milliseconds(1500);
  EXPECT_FALSE(dprelay::testing::ClosedByServer(server_.get(), now_, slow));
  now_ += absl::Milliseconds(600);  // 2.1 s after it connected
  EXPECT_TRUE(dprelay::testing::ClosedByServer(server_.get(), now_, slow));
  EXPECT_EQ(Count(net::StreamCounter::kHeaderTimeout), 1u);
  EXPECT_EQ(server_->connections(), 0u);
}

// Control's own loop: unhealthy without a dataplane, healthy once it is synced and its stats
// show the workers moving, unhealthy when it stops answering and when it goes away.
TEST(HealthServerTest, ControlReportsWhetherTheDataplaneIsForwarding) {
  testing::TempDir tmp;
  std::ofstream(tmp.File("allow")) << "# nobody\n";
  ControlConfig config{
      .state_dir = tmp.File("state"),
      .listen = *ParseAddrPort("127.0.0.1:0"),
      .policy_path = tmp.File("allow"),
      .dataplane_socket = tmp.File("dp.sock"),
      .bind_lifetime = absl::Seconds(30),
      .steady_state_lifetime = absl::Minutes(5),
      .health_listen = *ParseAddrPort("127.0.0.1:0"),
  };
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->health_port();
  ASSERT_NE(port, 0);
  int stop = eventfd(0, EFD_CLOEXEC);
  std::thread loop([&] { (*server)->Run(stop).IgnoreError(); });
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

  std::string r = Get(port, get);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503 "));
  EXPECT_EQ(Body(r), "dataplane not connected\n");

  // The dataplane appears; control connects within its 1 s retry.
  testing::FakeDataplane dp(tmp.File("dp.sock"));
  bool accepted = false;
  for (int i = 0; i < 3 && !accepted; ++i) {
    accepted = dp.Accept();
  }
  ASSERT_TRUE(accepted);
  r = Get(port, get);
  EXPECT_EQ(Body(r), "dataplane connected, session sync not finished\n");
  dp.Send(ipc::Hello{.relay_addrs = {*ParseAddrPort("10.77.0.1:40000")}, .capacity = 100});
  std::optional<ipc::Message> dump = dp.Receive(2000);
  ASSERT_TRUE(dump.has_value() && std::holds_alternative<ipc::DumpRequest>(*dump));
  dp.Send(ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*dump).request_id});
  // Answer stats polls with an advancing worker_cycles until told to stop.
  std::atomic<bool> answering{true};
  std::atomic<int> answered{0};
  std::thread stats([&] {
    uint64_t cycles = 0;
    while (answering) {
      std::optional<ipc::Message> m = dp.Receive(50);
      if (m && std::holds_alternative<ipc::StatsRequest>(*m)) {
        cycles += 1'000'000;
        dp.Send(ipc::StatsReply{.counters = Cycles(cycles)});
        ++answered;
      }
    }
  });
  for (int i = 0; i < 40 && answered < 2; ++i) {
    usleep(100'000);
  }
  ASSERT_GE(answered, 2);
  r = Get(port, get);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(r), "ok\n");

  // The dataplane stops answering (connected, but its main lcore is gone).
  answering = false;
  stats.join();
  usleep(2'600'000);
  r = Get(port, get);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(Body(r), HasSubstr("dataplane has not answered a stats poll for"));

  // And it goes away.
  dp.CloseConn();
  usleep(200'000);
  EXPECT_EQ(Body(Get(port, get)), "dataplane not connected\n");

  uint64_t one = 1;
  ASSERT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  loop.join();
  close(stop);
}

}  // namespace
}  // namespace dprelay::control
