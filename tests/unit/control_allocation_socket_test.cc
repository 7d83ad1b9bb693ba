// The allocation socket on loopback: a wildcard socket replies from the address each request
// was sent to (the whole of 127/8 is local on Linux, so 127.0.0.2 is as good as a second NIC's
// address), a dual-stack one too for IPv4 requests (v4-mapped) and ::1, and a socket bound to
// one address behaves as a plain one.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "control/allocation_socket.h"
#include "gtest/gtest.h"
#include "proto/addr.h"

namespace dprelay::control {
namespace {

AddrPort At(const char* ip, uint16_t port) {
  AddrPort ap{.ip = *ParseIp(ip), .port = port};
  return ap;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, timeout_ms) == 1;
}

// A kernel UDP client of one family that reports where replies come from.
class Client {
 public:
  explicit Client(int family) : fd_(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool Send(const AddrPort& to, const std::vector<uint8_t>& bytes) {
    sockaddr_storage ss{};
    const socklen_t len = ToSockaddr(to, &ss);
    return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
           static_cast<ssize_t>(bytes.size());
  }
  // The source of the next datagram, unmapped; nullopt on timeout.
  std::optional<AddrPort> ReplySource(int timeout_ms) {
    if (!Readable(fd_, timeout_ms)) {
      return std::nullopt;
    }
    uint8_t buf[64];
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
      return std::nullopt;
    }
    absl::StatusOr<AddrPort> from = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (!from.ok()) {
      return std::nullopt;
    }
    from->ip = from->ip.Unmapped();
    return *from;
  }

 private:
  const int fd_;
};

// One request from client to `to` and the reply back: what the socket reported as the address
// to reply from, and the reply's source as the client saw it.
struct RoundTrip {
  IpAddr reply_from;
  std::optional<AddrPort> seen_source;
};

RoundTrip Exchange(AllocationSocket& socket, Client& client, const AddrPort& to) {
  RoundTrip trip;
  const std::vector<uint8_t> request = {1, 2, 3};
  EXPECT_TRUE(client.Send(to, request));
  EXPECT_TRUE(Readable(socket.fd(), 2000));
  std::vector<uint8_t> buf(64);
  absl::StatusOr<std::optional<AllocationSocket::Datagram>> got = socket.Receive(buf);
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok() || !got->has_value()) {
    return trip;
  }
  EXPECT_EQ((*got)->size, request.size());
  trip.reply_from = (*got)->reply_from;
  absl::Status sent = socket.Reply(**got, std::vector<uint8_t>{4, 5});
  EXPECT_TRUE(sent.ok()) << sent;
  trip.seen_source = client.ReplySource(2000);
  return trip;
}

bool HaveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_storage ss{};
  const socklen_t len = ToSockaddr(At("::1", 0), &ss);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  close(fd);
  return ok;
}

TEST(AllocationSocketTest, Ipv4WildcardRepliesFromEachRequestsDestination) {
  absl::StatusOr<std::unique_ptr<AllocationSocket>> socket =
      AllocationSocket::Open(At("0.0.0.0", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_TRUE((*socket)->reports_destination());
  const uint16_t port = (*socket)->local_addr().port;
  ASSERT_NE(port, 0);
  Client client(AF_INET);
  // The client sends from 127.0.0.1 each time: left to itself, the kernel would answer every
  // request from 127.0.0.1.
  for (const char* dst : {"127.0.0.2", "127.0.0.1", "127.0.0.3"}) {
    SCOPED_TRACE(dst);
    RoundTrip trip = Exchange(**socket, client, At(dst, port));
    EXPECT_EQ(trip.reply_from, *ParseIp(dst));
    EXPECT_EQ(trip.seen_source, At(dst, port));
  }
}

TEST(AllocationSocketTest, DualStackRepliesFromV4MappedDestinationAndIpv6Loopback) {
  absl::StatusOr<std::unique_ptr<AllocationSocket>> socket = AllocationSocket::Open(At("::", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_TRUE((*socket)->reports_destination());
  const uint16_t port = (*socket)->local_addr().port;
  Client v4(AF_INET);
  for (const char* dst : {"127.0.0.2", "127.0.0.1"}) {
    SCOPED_TRACE(dst);
    RoundTrip trip = Exchange(**socket, v4, At(dst, port));
    EXPECT_EQ(trip.reply_from, ParseIp(dst)->V4Mapped());  // the dual-stack socket's form
    EXPECT_EQ(trip.seen_source, At(dst, port));
  }
  ASSERT_TRUE(HaveIpv6Loopback()) << "no ::1 here: the IPv6 case cannot be exercised";
  Client v6(AF_INET6);
  RoundTrip trip = Exchange(**socket, v6, At("::1", port));
  EXPECT_EQ(trip.reply_from, *ParseIp("::1"));
  EXPECT_EQ(trip.seen_source, At("::1", port));
}

TEST(AllocationSocketTest, SocketBoundToOneAddressAsksForNothing) {
  absl::StatusOr<std::unique_ptr<AllocationSocket>> socket =
      AllocationSocket::Open(At("127.0.0.2", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_FALSE((*socket)->reports_destination());
  Client client(AF_INET);
  RoundTrip trip = Exchange(**socket, client, (*socket)->local_addr());
  EXPECT_FALSE(trip.reply_from.valid());
  EXPECT_EQ(trip.seen_source, (*socket)->local_addr());
}

TEST(AllocationSocketTest, NothingWaitingIsNotAnError) {
  absl::StatusOr<std::unique_ptr<AllocationSocket>> socket =
      AllocationSocket::Open(At("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  std::vector<uint8_t> buf(64);
  absl::StatusOr<std::optional<AllocationSocket::Datagram>> got = (*socket)->Receive(buf);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
}

TEST(AllocationSocketTest, BindErrorNamesTheListenAddress) {
  absl::StatusOr<std::unique_ptr<AllocationSocket>> first =
      AllocationSocket::Open(At("0.0.0.0", 0));
  ASSERT_TRUE(first.ok()) << first.status();
  const AddrPort taken = (*first)->local_addr();
  absl::StatusOr<std::unique_ptr<AllocationSocket>> second = AllocationSocket::Open(taken);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("listen " + FormatAddrPort(taken) + ": bind: "),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace dprelay::control
