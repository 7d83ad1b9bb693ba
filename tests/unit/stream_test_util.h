// Drives a poll-loop server (net::StreamServer, or control's HealthServer and AdminServer,
// which share its AppendPollFds/OnEvents/ExpireIdle) on the test's own thread, with the test's
// clock, and plays its clients: TCP from a chosen loopback address (127.0.0.2 and up are as
// local as 127.0.0.1 and make distinct sources) or a unix socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace dprelay::testing {

// One round of the owner's loop: poll (up to wait_ms), hand over the events, expire.
template <typename Server>
void PumpOnce(Server* server, absl::Time now, int wait_ms = 1) {
  std::vector<pollfd> fds;
  server->AppendPollFds(&fds);
  poll(fds.data(), fds.size(), wait_ms);
  server->OnEvents(fds, 0, now);
  server->ExpireIdle(now);
}

// A blocking TCP connection from `source_ip` (any 127.0.0.0/8 address) to 127.0.0.1:port,
// then one loop round so that the server accepts it (or refuses it) before the next.
template <typename Server>
int ConnectFrom(Server* server, absl::Time now, const char* source_ip, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source_ip, &local.sin_addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0) << source_ip;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << std::strerror(errno);
  PumpOnce(server, now);
  return fd;
}

// The same over a unix stream socket.
template <typename Server>
int ConnectUnix(Server* server, absl::Time now, const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << std::strerror(errno);
  PumpOnce(server, now);
  return fd;
}

// Everything the server sends on `fd` until it closes it (pumping the server meanwhile), or
// "<open>" + what came so far if it is still open after max_rounds.
template <typename Server>
std::string ReadToClose(Server* server, absl::Time now, int fd, int max_rounds = 500) {
  std::string out;
  for (int i = 0; i < max_rounds; ++i) {
    PumpOnce(server, now);
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) {
      return out;
    }
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return out + "<" + std::strerror(errno) + ">";  // e.g. reset: closed with data unread
    }
  }
  return "<open>" + out;
}

// Sends `request` on `fd` and returns the answer up to the server's close.
template <typename Server>
std::string Exchange(Server* server, absl::Time now, int fd, const std::string& request) {
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  return ReadToClose(server, now, fd);
}

// True if the server has closed `fd` (EOF or reset waiting), pumping it a few rounds first.
template <typename Server>
bool ClosedByServer(Server* server, absl::Time now, int fd) {
  for (int i = 0; i < 20; ++i) {
    PumpOnce(server, now);
    char c;
    const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return true;
    }
  }
  return false;
}

}  // namespace dprelay::testing
