// End to end in one process: the control loop on a thread, a kernel UDP client on loopback and
// a fake dataplane on a unix socket.
#include "control/control_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/admin_client.h"
#include "control/key_store.h"
#include "control_test_util.h"
#include "gtest/gtest.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/ipc.h"
#include "proto/key.h"
#include "proto/version.h"

namespace dprelay::control {
namespace {

using testing::FakeDataplane;
using testing::TempDir;

// The server's configuration for a test: everything under tmp, allocation socket on a free
// loopback port, default lifetimes.
ControlConfig TestConfig(const TempDir& tmp, const std::string& policy_file) {
  return ControlConfig{
      .state_dir = tmp.File("state"),
      .listen = *ParseAddrPort("127.0.0.1:0"),
      .policy_path = tmp.File(policy_file),
      .dataplane_socket = tmp.File("dp.sock"),
      .bind_lifetime = absl::Seconds(30),
      .steady_state_lifetime = absl::Minutes(5),
  };
}

class UdpClient {
 public:
  UdpClient() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~UdpClient() { close(fd_); }
  void Send(const AddrPort& to, const std::vector<uint8_t>& bytes) {
    sockaddr_storage ss{};
    socklen_t len = ToSockaddr(to, &ss);
    ASSERT_EQ(sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
              static_cast<ssize_t>(bytes.size()));
  }
  std::optional<std::vector<uint8_t>> Receive(int timeout_ms) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, timeout_ms) != 1) {
      return std::nullopt;
    }
    std::vector<uint8_t> buf(65535);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) {
      return std::nullopt;
    }
    absl::StatusOr<AddrPort> from = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    last_source_ = from.ok() ? *from : AddrPort{};
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  // Where the last datagram Receive returned came from.
  const AddrPort& last_source() const { return last_source_; }

 private:
  int fd_;
  AddrPort last_source_;
};

// A sealed allocation request from `from` for the pair (from, other).
std::vector<uint8_t> AllocationRequest(const DiscoKey& control_pub, const DiscoKeyPair& from,
                                       const DiscoKey& other, uint32_t generation) {
  absl::StatusOr<SharedKey> shared = ComputeSharedKey(control_pub, from.priv);
  EXPECT_TRUE(shared.ok()) << shared.status();
  return SealDisco(*shared, from.pub,
                   EncodeDisco(AllocateUdpRelayEndpointRequest{.client_disco = {from.pub, other},
                                                               .generation = generation}));
}

// Says Hello as a dataplane with no sessions and answers control's dump request.
void HelloWithNoSessions(FakeDataplane& dp) {
  ASSERT_TRUE(dp.Accept());
  dp.Send(ipc::Hello{.relay_addrs = {*ParseAddrPort("203.0.113.5:40000")}, .capacity = 1000});
  std::optional<ipc::Message> dump = dp.Receive(2000);
  ASSERT_TRUE(dump.has_value());
  ASSERT_TRUE(std::holds_alternative<ipc::DumpRequest>(*dump));
  dp.Send(ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*dump).request_id});
}

TEST(ControlServerTest, AllocatesOnceTheDataplaneSaysHello) {
  TempDir tmp;
  const DiscoKeyPair a = GenerateKeyPair();
  const DiscoKeyPair b = GenerateKeyPair();
  const DiscoKeyPair stranger = GenerateKeyPair();
  std::ofstream(tmp.File("allow")) << "# test\n"
                                   << FormatDiscoKey(a.pub) << "\n"
                                   << FormatDiscoKey(b.pub) << "\n";
  // The server will load the keys this generates.
  auto keys = KeyStore::Open({.state_dir = tmp.File("state")});
  ASSERT_TRUE(keys.ok()) << keys.status();
  const DiscoKey control_pub = (*keys)->control_key().pub;
  const DiscoKey server_pub = (*keys)->server_disco_key().pub;

  FakeDataplane dp(tmp.File("dp.sock"));
  ControlConfig config = TestConfig(tmp, "allow");
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const AddrPort addr = (*server)->local_addr();
  ASSERT_NE(addr.port, 0);

  int stop = eventfd(0, EFD_CLOEXEC);
  absl::Status run_status;
  std::thread loop([&] { run_status = (*server)->Run(stop); });

  auto request = [&](const DiscoKeyPair& from, const DiscoKey& other, uint32_t gen) {
    return AllocationRequest(control_pub, from, other, gen);
  };

  UdpClient client;
  // The dataplane has not said Hello: no reply.
  client.Send(addr, request(a, b.pub, 1));
  EXPECT_FALSE(client.Receive(300).has_value());

  ASSERT_TRUE(dp.Accept());
  const std::vector<AddrPort> relay = {*ParseAddrPort("203.0.113.5:40000")};
  dp.Send(ipc::Hello{.relay_addrs = relay, .capacity = 1000});
  // Control reads the dataplane's sessions before it allocates: it has none.
  std::optional<ipc::Message> dump = dp.Receive(2000);
  ASSERT_TRUE(dump.has_value());
  ASSERT_TRUE(std::holds_alternative<ipc::DumpRequest>(*dump));
  dp.Send(ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*dump).request_id});

  // Retry as a client would until the reply comes.
  std::optional<std::vector<uint8_t>> reply;
  for (int i = 0; i < 20 && !reply; ++i) {
    client.Send(addr, request(a, b.pub, 2));
    reply = client.Receive(200);
  }
  ASSERT_TRUE(reply.has_value());
  absl::StatusOr<SharedKey> shared = ComputeSharedKey(control_pub, a.priv);
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(*shared, *reply);
  ASSERT_TRUE(clear.ok()) << clear.status();
  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  ASSERT_TRUE(msg.ok());
  const auto* resp = std::get_if<AllocateUdpRelayEndpointResponse>(&*msg);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->generation, 2u);
  EXPECT_EQ(resp->endpoint.server_disco, server_pub);
  EXPECT_EQ(resp->endpoint.vni, 1u);
  EXPECT_EQ(resp->endpoint.lamport_id, 1u);
  EXPECT_EQ(resp->endpoint.addr_ports, relay);

  // The dataplane is told about the new session.
  std::optional<ipc::Message> install = dp.Receive(1000);
  ASSERT_TRUE(install.has_value());
  const auto* in = std::get_if<ipc::InstallSession>(&*install);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->vni, 1u);
  EXPECT_EQ(in->client_keys, SortedPair(a.pub, b.pub));

  // Policy refusals get nothing.
  client.Send(addr, request(stranger, a.pub, 3));
  EXPECT_FALSE(client.Receive(300).has_value());

  uint64_t one = 1;
  ASSERT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  loop.join();
  close(stop);
  EXPECT_TRUE(run_status.ok()) << run_status;
  const ControlCounters& c = (*server)->counters();
  EXPECT_EQ(c.allocated, 1u);
  EXPECT_GE(c.refusals[static_cast<size_t>(Refusal::kNoAddrPorts)], 1u);
  EXPECT_EQ(c.refusals[static_cast<size_t>(Refusal::kNotAllowed)], 1u);
  EXPECT_EQ((*server)->endpoints(), 1u);
  // The LamportID used is persisted.
  auto reopened = KeyStore::Open({.state_dir = tmp.File("state")});
  ASSERT_TRUE(reopened.ok());
  EXPECT_GE((*reopened)->LoadLamport(), 1u);
}

TEST(ControlServerTest, AdminApiStatusStaticEndpointsSessionsRefusalsReload) {
  TempDir tmp;
  const DiscoKeyPair a = GenerateKeyPair();
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n"
                                   << "static_endpoint 198.51.100.1:40000\n";
  FakeDataplane dp(tmp.File("dp.sock"));
  ControlConfig config = TestConfig(tmp, "allow");
  config.admin_socket = tmp.File("admin/control.sock");
  config.static_only = true;
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st {};
  ASSERT_EQ(stat(config.admin_socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  int stop = eventfd(0, EFD_CLOEXEC);
  std::thread loop([&] { (*server)->Run(stop).IgnoreError(); });
  auto call = [&](const std::string& command, const std::string& arg = "", bool json = false) {
    return CallAdmin(config.admin_socket, {.json = json, .command = command, .argument = arg},
                     absl::Seconds(5));
  };

  absl::StatusOr<std::string> status = call("status");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE(status->find("dataplane:          connecting"), std::string::npos) << *status;
  EXPECT_NE(status->find("static endpoints:   198.51.100.1:40000 (from policy; static only)"),
            std::string::npos)
      << *status;
  // Sessions need the dataplane.
  absl::StatusOr<std::string> sessions = call("sessions");
  EXPECT_FALSE(sessions.ok());
  EXPECT_NE(sessions.status().message().find("not connected"), std::string::npos);

  ASSERT_TRUE(dp.Accept());
  dp.Send(ipc::Hello{.relay_addrs = {*ParseAddrPort("10.0.0.1:40000")}, .capacity = 100});
  std::optional<ipc::Message> sync = dp.Receive(2000);
  ASSERT_TRUE(sync.has_value());
  dp.Send(ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*sync).request_id});

  // Static only: the dataplane's own address is never advertised.
  absl::StatusOr<std::string> json = call("status", "", true);
  ASSERT_TRUE(json.ok()) << json.status();
  for (int i = 0; i < 50 && json->find("\"state\":\"ready\"") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    json = call("status", "", true);
  }
  EXPECT_NE(json->find("\"advertised\":[\"198.51.100.1:40000\"]"), std::string::npos) << *json;
  // Once synced the dataplane is told what is advertised besides its own addresses: no leg may
  // be bound there.
  std::optional<ipc::Message> advertised = dp.Receive(2000);
  ASSERT_TRUE(advertised.has_value());
  EXPECT_EQ(std::get<ipc::Advertised>(*advertised).addrs,
            std::vector<AddrPort>{*ParseAddrPort("198.51.100.1:40000")});

  // Runtime static endpoints replace the policy's and are persisted; a bad one is named.
  absl::StatusOr<std::string> bad = call("set-static-endpoints", "203.0.113.7:1,oops");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"oops\""), std::string::npos) << bad.status();
  absl::StatusOr<std::string> set =
      call("set-static-endpoints", "203.0.113.7:4000,[2001:db8::7]:4000");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*set, "static endpoints: 203.0.113.7:4000, [2001:db8::7]:4000 (from runtime)\n");
  std::ifstream persisted(tmp.File("state/static_endpoints"));
  std::string line;
  std::getline(persisted, line);
  EXPECT_EQ(line, "203.0.113.7:4000,[2001:db8::7]:4000");
  advertised = dp.Receive(2000);  // and so is the dataplane
  ASSERT_TRUE(advertised.has_value());
  EXPECT_EQ(std::get<ipc::Advertised>(*advertised).addrs,
            (std::vector<AddrPort>{*ParseAddrPort("203.0.113.7:4000"),
                                   *ParseAddrPort("[2001:db8::7]:4000")}));

  // The dataplane's sessions with their counters, in the reference's listing format.
  std::thread answer([&] {
    std::optional<ipc::Message> m = dp.Receive(3000);
    ASSERT_TRUE(m.has_value());
    ipc::SessionRecord r{.vni = 3,
                         .client_keys = SortedPair(a.pub, GenerateKeyPair().pub),
                         .bound = {*ParseAddrPort("192.0.2.1:5001"), AddrPort{}},
                         .packets = {7, 0},
                         .bytes = {700, 0}};
    dp.Send(
        ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*m).request_id, .sessions = {r}});
  });
  sessions = call("sessions");
  answer.join();
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  EXPECT_NE(sessions->find("Sessions count: 1\nVNI: 3\n  192.0.2.1:5001(d:"), std::string::npos)
      << *sessions;
  EXPECT_NE(sessions->find(") --> <no handshake>(d:"), std::string::npos) << *sessions;
  EXPECT_NE(sessions->find(", Packets: 7 Bytes: 700\n"), std::string::npos) << *sessions;

  // ping VNI: the relay's handshake round trip and idle time per leg, from one dump page.
  std::thread answer_ping([&] {
    std::optional<ipc::Message> m = dp.Receive(3000);
    ASSERT_TRUE(m.has_value());
    auto req = std::get<ipc::DumpRequest>(*m);
    EXPECT_EQ(req.from_vni, 3u);
    ipc::SessionRecord r{.vni = 3,
                         .client_keys = SortedPair(a.pub, GenerateKeyPair().pub),
                         .bound = {*ParseAddrPort("192.0.2.1:5001"), AddrPort{}},
                         .packets = {7, 0},
                         .bytes = {700, 0},
                         .handshake_rtt_ns = {1'250'000, 0},
                         .idle_ns = {2'500'000'000, 9'000'000'000}};
    dp.Send(ipc::DumpReply{.request_id = req.request_id, .sessions = {r}});
  });
  absl::StatusOr<std::string> ping = call("ping", "3");
  answer_ping.join();
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_NE(ping->find("VNI 3: connecting\n"), std::string::npos) << *ping;
  EXPECT_NE(
      ping->find(" 192.0.2.1:5001: handshake RTT 1.250 ms, last heard 2.5 s ago, 7 packets\n"),
      std::string::npos)
      << *ping;
  EXPECT_NE(ping->find(" no handshake yet, allocated 9.0 s ago\n"), std::string::npos) << *ping;
  absl::StatusOr<std::string> bad_vni = call("ping", "x3");
  ASSERT_FALSE(bad_vni.ok());
  EXPECT_NE(bad_vni.status().message().find("\"x3\" is not a VNI"), std::string::npos);

  // Reload: a broken file is refused with file and line, the old policy stays.
  std::ofstream(tmp.File("allow")) << "allow\n";
  absl::StatusOr<std::string> reload = call("reload");
  ASSERT_FALSE(reload.ok());
  EXPECT_NE(reload.status().message().find(tmp.File("allow") + ":1:"), std::string::npos);
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n";
  EXPECT_TRUE(call("reload").ok());

  absl::StatusOr<std::string> refusals = call("refusals", "", true);
  ASSERT_TRUE(refusals.ok());
  EXPECT_NE(refusals->find("\"total\":0"), std::string::npos) << *refusals;
  EXPECT_FALSE(call("frobnicate").ok());

  uint64_t one = 1;
  ASSERT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  loop.join();
  close(stop);
  server->reset();
  // Gone: one clear error.
  absl::StatusOr<std::string> gone = call("status");
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("no such socket"), std::string::npos) << gone.status();
}

// dprelayctl evict, reload's report of sessions the new policy no longer allows and
// --evict-removed, the sessions filters and --format=tailscale, and version, against the real
// control loop and a fake dataplane whose sessions control restores at sync.
TEST(ControlServerTest, AdminEvictReloadReportSessionFiltersAndVersion) {
  TempDir tmp;
  const DiscoKeyPair a = GenerateKeyPair();
  const DiscoKeyPair b = GenerateKeyPair();
  const DiscoKeyPair c = GenerateKeyPair();
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n"
                                   << FormatDiscoKey(b.pub) << "\n"
                                   << FormatDiscoKey(c.pub) << "\n";
  FakeDataplane dp(tmp.File("dp.sock"));
  ControlConfig config = TestConfig(tmp, "allow");
  config.admin_socket = tmp.File("admin/control.sock");
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  int stop = eventfd(0, EFD_CLOEXEC);
  std::thread loop([&] { (*server)->Run(stop).IgnoreError(); });
  auto call = [&](const std::string& command, const std::string& arg = "", bool json = false) {
    return CallAdmin(config.admin_socket, {.json = json, .command = command, .argument = arg},
                     absl::Seconds(5));
  };
  // The dataplane already forwards three sessions: a-b (VNI 5), a-c (VNI 9), b-c (VNI 12).
  const ipc::SessionRecord ab{
      .vni = 5,
      .client_keys = SortedPair(a.pub, b.pub),
      .bound = {*ParseAddrPort("192.0.2.1:5001"), *ParseAddrPort("[2001:db8::2]:6002")},
      .lamport_id = 10,
      .packets = {3, 4},
      .bytes = {300, 400}};
  const ipc::SessionRecord ac{.vni = 9, .client_keys = SortedPair(a.pub, c.pub), .lamport_id = 11};
  const ipc::SessionRecord bc{.vni = 12,
                              .client_keys = SortedPair(b.pub, c.pub),
                              .bound = {*ParseAddrPort("192.0.2.7:7007"), AddrPort{}},
                              .lamport_id = 12};
  ASSERT_TRUE(dp.Accept());
  dp.Send(ipc::Hello{.relay_addrs = {*ParseAddrPort("10.0.0.1:40000")}, .capacity = 100});
  std::optional<ipc::Message> sync = dp.Receive(2000);
  ASSERT_TRUE(sync.has_value());
  dp.Send(ipc::DumpReply{.request_id = std::get<ipc::DumpRequest>(*sync).request_id,
                         .sessions = {ab, ac, bc}});
  auto total_sessions = [&] {
    absl::StatusOr<std::string> st = call("status", "", true);
    EXPECT_TRUE(st.ok()) << st.status();
    const size_t at = st->find("\"sessions\":{\"total\":");
    return at == std::string::npos ? std::string("?") : st->substr(at + 20, 1);
  };
  for (int i = 0; i < 50 && total_sessions() != "3"; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(total_sessions(), "3");

  // Filters narrow the dataplane's dump; tailscale's ServerStatus shape, exactly.
  auto answer_dump = [&dp](std::vector<ipc::SessionRecord> records) {
    return std::thread([&dp, records] {
      std::optional<ipc::Message> m = dp.Receive(3000);
      ASSERT_TRUE(m.has_value());
      const auto* req = std::get_if<ipc::DumpRequest>(&*m);
      ASSERT_NE(req, nullptr) << "message index " << m->index();
      dp.Send(ipc::DumpReply{.request_id = req->request_id, .sessions = records});
    });
  };
  const std::string a_prefix = FormatDiscoKey(a.pub).substr(9, 6);
  std::thread answer = answer_dump({ab, ac, bc});
  absl::StatusOr<std::string> ts =
      call("sessions", "--client=2001:db8::2 --key=" + a_prefix + " --format=tailscale");
  answer.join();
  ASSERT_TRUE(ts.ok()) << ts.status();
  const auto leg = [](const ipc::SessionRecord& r, int i) {
    return absl::StrCat("{\"Endpoint\":\"", r.bound[i].valid() ? FormatAddrPort(r.bound[i]) : "",
                        "\",\"ShortDisco\":\"", ShortDisco(r.client_keys[i]),
                        "\",\"PacketsTx\":", r.packets[i], ",\"BytesTx\":", r.bytes[i], "}");
  };
  EXPECT_EQ(*ts, absl::StrCat("{\"UDPPort\":40000,\"Sessions\":[{\"VNI\":5,\"Client1\":",
                              leg(ab, 0), ",\"Client2\":", leg(ab, 1), "}]}\n"));
  answer = answer_dump({ab, ac, bc});
  absl::StatusOr<std::string> by_client = call("sessions", "--client=192.0.2.7");
  answer.join();
  ASSERT_TRUE(by_client.ok()) << by_client.status();
  EXPECT_NE(by_client->find("Sessions count: 1\nVNI: 12\n"), std::string::npos) << *by_client;
  answer = answer_dump({bc});
  absl::StatusOr<std::string> by_vni = call("sessions", "--vni=12", true);
  answer.join();
  ASSERT_TRUE(by_vni.ok()) << by_vni.status();
  EXPECT_NE(by_vni->find("{\"sessions\":[{\"vni\":12,"), std::string::npos) << *by_vni;
  EXPECT_FALSE(call("sessions", "--frobnicate=1").ok());

  // evict VNI: gone from control at once, and the dataplane is told.
  absl::StatusOr<std::string> evicted = call("evict", "5");
  ASSERT_TRUE(evicted.ok()) << evicted.status();
  EXPECT_EQ(*evicted, absl::StrCat("evicted 1 session\n  VNI 5 (", ShortDisco(ab.client_keys[0]),
                                   ", ", ShortDisco(ab.client_keys[1]), ")\n"));
  std::optional<ipc::Message> removed = dp.Receive(2000);
  ASSERT_TRUE(removed.has_value());
  ASSERT_TRUE(std::holds_alternative<ipc::RemoveSession>(*removed)) << removed->index();
  EXPECT_EQ(std::get<ipc::RemoveSession>(*removed).vni, 5u);
  EXPECT_EQ(total_sessions(), "2");
  absl::StatusOr<std::string> again = call("evict", "5");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("VNI 5 is not a live session"), std::string::npos);

  // A reload that drops b lists b's live session (VNI 12) and ends nothing ...
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n"
                                   << FormatDiscoKey(c.pub) << "\n";
  absl::StatusOr<std::string> reload = call("reload");
  ASSERT_TRUE(reload.ok()) << reload.status();
  EXPECT_NE(reload->find("1 live sessions belong to keys the policy no longer allows"),
            std::string::npos)
      << *reload;
  EXPECT_NE(reload->find("  VNI 12 ("), std::string::npos) << *reload;
  EXPECT_EQ(total_sessions(), "2");
  // ... until --evict-removed.
  absl::StatusOr<std::string> reload_evict = call("reload", "--evict-removed", true);
  ASSERT_TRUE(reload_evict.ok()) << reload_evict.status();
  EXPECT_NE(reload_evict->find("\"evicted\":[{\"vni\":12,"), std::string::npos) << *reload_evict;
  removed = dp.Receive(2000);
  ASSERT_TRUE(removed.has_value());
  ASSERT_TRUE(std::holds_alternative<ipc::RemoveSession>(*removed)) << removed->index();
  EXPECT_EQ(std::get<ipc::RemoveSession>(*removed).vni, 12u);
  EXPECT_EQ(total_sessions(), "1");

  // evict KEY: every session of that key.
  absl::StatusOr<std::string> by_key = call("evict", FormatDiscoKey(c.pub));
  ASSERT_TRUE(by_key.ok()) << by_key.status();
  EXPECT_NE(by_key->find("evicted 1 session\n  VNI 9 ("), std::string::npos) << *by_key;
  EXPECT_EQ(total_sessions(), "0");

  absl::StatusOr<std::string> version = call("version");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, VersionLine("dprelay-control") + "\n");

  uint64_t one = 1;
  ASSERT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  loop.join();
  close(stop);
}

// AWS behind an NLB: control listens on 0.0.0.0, and the reply to each request must leave from
// the address the request was sent to (the relay ENI's, behind which policy routing points at
// the NLB), not from whatever address the route to the client would pick. On loopback the
// client sends from 127.0.0.1 both times, so a plain sendto would answer from 127.0.0.1 twice.
TEST(ControlServerTest, WildcardListenerRepliesFromEachRequestsDestination) {
  TempDir tmp;
  const DiscoKeyPair a = GenerateKeyPair();
  const DiscoKeyPair b = GenerateKeyPair();
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n"
                                   << FormatDiscoKey(b.pub) << "\n";
  auto keys = KeyStore::Open({.state_dir = tmp.File("state")});
  ASSERT_TRUE(keys.ok()) << keys.status();
  const DiscoKey control_pub = (*keys)->control_key().pub;

  FakeDataplane dp(tmp.File("dp.sock"));
  ControlConfig config = TestConfig(tmp, "allow");
  config.listen = *ParseAddrPort("0.0.0.0:0");
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->local_addr().port;
  int stop = eventfd(0, EFD_CLOEXEC);
  std::thread loop([&] { (*server)->Run(stop).IgnoreError(); });
  HelloWithNoSessions(dp);

  UdpClient client;
  uint32_t generation = 1;
  for (const char* dst : {"127.0.0.2", "127.0.0.1"}) {
    SCOPED_TRACE(dst);
    const AddrPort to{.ip = *ParseIp(dst), .port = port};
    std::optional<std::vector<uint8_t>> reply;
    for (int i = 0; i < 20 && !reply; ++i) {
      client.Send(to, AllocationRequest(control_pub, a, b.pub, ++generation));
      reply = client.Receive(200);
    }
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(client.last_source(), to);
  }

  uint64_t one = 1;
  ASSERT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  loop.join();
  close(stop);
  EXPECT_EQ((*server)->counters().reply_send_errors, 0u);
}

TEST(ControlServerTest, StartupErrorsNameTheFile) {
  TempDir tmp;
  ControlConfig config = TestConfig(tmp, "missing-policy");
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find(tmp.File("missing-policy")), std::string::npos);
}

TEST(ControlServerTest, AStartRefusedForItsConfigurationCreatesNoState) {
  TempDir tmp;
  std::ofstream(tmp.File("bad-policy")) << "discokey:nothex\n";
  for (const char* policy : {"missing-policy", "bad-policy"}) {
    ControlConfig config = TestConfig(tmp, policy);
    ASSERT_FALSE(ControlServer::Create(config).ok()) << policy;
    EXPECT_FALSE(std::filesystem::exists(config.state_dir)) << policy;
  }
}

}  // namespace
}  // namespace dprelay::control
