// End to end in one process: the control loop on a thread, a kernel UDP client on loopback and
// a fake dataplane on a unix socket.
#include "control/control_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "control/key_store.h"
#include "control_test_util.h"
#include "gtest/gtest.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

using testing::FakeDataplane;
using testing::TempDir;

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
    ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) {
      return std::nullopt;
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  int fd_;
};

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
  ControlConfig config{
      .state_dir = tmp.File("state"),
      .listen = *ParseAddrPort("127.0.0.1:0"),
      .policy_path = tmp.File("allow"),
      .dataplane_socket = tmp.File("dp.sock"),
      .bind_lifetime = absl::Seconds(30),
      .steady_state_lifetime = absl::Minutes(5),
  };
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const AddrPort addr = (*server)->local_addr();
  ASSERT_NE(addr.port, 0);

  int stop = eventfd(0, EFD_CLOEXEC);
  absl::Status run_status;
  std::thread loop([&] { run_status = (*server)->Run(stop); });

  auto request = [&](const DiscoKeyPair& from, const DiscoKey& other, uint32_t gen) {
    absl::StatusOr<SharedKey> shared = ComputeSharedKey(control_pub, from.priv);
    return SealDisco(*shared, from.pub,
                     EncodeDisco(AllocateUdpRelayEndpointRequest{.client_disco = {from.pub, other},
                                                                 .generation = gen}));
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

TEST(ControlServerTest, StartupErrorsNameTheFile) {
  TempDir tmp;
  ControlConfig config{
      .state_dir = tmp.File("state"),
      .listen = *ParseAddrPort("127.0.0.1:0"),
      .policy_path = tmp.File("missing-policy"),
      .dataplane_socket = tmp.File("dp.sock"),
      .bind_lifetime = absl::Seconds(30),
      .steady_state_lifetime = absl::Minutes(5),
  };
  absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Create(config);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find(tmp.File("missing-policy")), std::string::npos);
}

}  // namespace
}  // namespace dprelay::control
