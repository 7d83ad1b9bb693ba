#include "control/health_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dprelay::control {
namespace {

// Load balancers probe from a few addresses every few seconds; a bound keeps a flood of
// connections from exhausting descriptors.
constexpr size_t kMaxConnections = 64;

std::string Response(int code, const std::string& status, const std::string& body, bool head) {
  return absl::StrCat(
      "HTTP/1.1 ", code, " ", status,
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", head ? std::string() : body);
}

}  // namespace

std::string HealthHttpResponse(std::string_view request_head, const HealthVerdict& verdict) {
  const std::string_view line = request_head.substr(0, request_head.find("\r\n"));
  // Request-Line = Method SP Request-URI SP HTTP-Version (RFC 9112 §3).
  std::vector<std::string_view> parts;
  for (size_t start = 0; parts.size() < 4;) {
    const size_t sp = line.find(' ', start);
    parts.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) {
      break;
    }
    start = sp + 1;
  }
  if (parts.size() != 3 || (parts[2] != "HTTP/1.0" && parts[2] != "HTTP/1.1")) {
    return Response(400, "Bad Request", "bad request\n", false);
  }
  const std::string_view method = parts[0];
  std::string_view path = parts[1];
  path = path.substr(0, path.find('?'));  // checkers may add a cache-buster
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return Response(405, "Method Not Allowed", "GET or HEAD\n", false);
  }
  if (path != "/healthz") {
    return Response(404, "Not Found", "not found (try /healthz)\n", head);
  }
  if (verdict.healthy) {
    return Response(200, "OK", "ok\n", head);
  }
  return Response(503, "Service Unavailable", verdict.reason + "\n", head);
}

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Listen(const AddrPort& addr,
                                                                   Probe probe) {
  const std::string flag = absl::StrCat("--health_listen=", FormatAddrPort(addr));
  const int family = addr.ip.is_v4() ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat(flag, ": socket: ", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // restarts within TIME_WAIT
  sockaddr_storage ss{};
  socklen_t len = ToSockaddr(addr, &ss);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(flag, ": bind/listen: ", std::strerror(err)));
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  absl::StatusOr<AddrPort> bound = FromSockaddr(reinterpret_cast<sockaddr*>(&local), local_len);
  return std::unique_ptr<HealthServer>(
      new HealthServer(fd, bound.ok() ? bound->port : addr.port, std::move(probe)));
}

HealthServer::HealthServer(int listen_fd, uint16_t port, Probe probe)
    : listen_fd_(listen_fd), port_(port), probe_(std::move(probe)) {}

HealthServer::~HealthServer() {
  for (auto& [id, conn] : conns_) {
    close(conn.fd);
  }
  close(listen_fd_);
}

void HealthServer::AppendPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({.fd = listen_fd_, .events = POLLIN, .revents = 0});
  for (const auto& [id, conn] : conns_) {
    const short events = conn.answered ? POLLOUT : POLLIN;
    fds->push_back({.fd = conn.fd, .events = events, .revents = 0});
  }
}

void HealthServer::OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now) {
  // The connections in the order AppendPollFds listed them (the map is not touched between).
  std::vector<uint64_t> ids;
  ids.reserve(conns_.size());
  for (const auto& [id, conn] : conns_) {
    ids.push_back(id);
  }
  for (size_t i = 0; i < ids.size() && first + 1 + i < fds.size(); ++i) {
    const short revents = fds[first + 1 + i].revents;
    if (revents == 0) {
      continue;
    }
    if ((revents & POLLIN) != 0 || (revents & (POLLHUP | POLLERR)) != 0) {
      Read(ids[i]);
    }
    if (conns_.contains(ids[i]) && (revents & POLLOUT) != 0) {
      Write(ids[i]);
    }
  }
  if (first < fds.size() && (fds[first].revents & POLLIN) != 0) {
    Accept(now);
  }
}

void HealthServer::Accept(absl::Time now) {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN, or an aborted connection: nothing to keep
    }
    if (conns_.size() >= kMaxConnections) {
      close(fd);
      continue;
    }
    conns_[next_id_++] = Conn{.fd = fd, .accepted_at = now};
  }
}

void HealthServer::Read(uint64_t id) {
  Conn& c = conns_[id];
  if (c.answered) {
    return;
  }
  char buf[1024];
  while (true) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > kMaxRequestHead) {
        break;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (c.in.find("\r\n\r\n") == std::string::npos) {
        Close(id);  // gone before a complete request (a TCP-only health check does this)
        return;
      }
    }
    break;
  }
  const size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos && c.in.size() <= kMaxRequestHead) {
    return;  // wait for the rest
  }
  const bool too_long = end == std::string::npos || end > kMaxRequestHead;
  c.out = too_long ? HealthHttpResponse("", HealthVerdict{})
                   : HealthHttpResponse(c.in.substr(0, end), probe_());
  c.answered = true;
  Write(id);
}

void HealthServer::Write(uint64_t id) {
  Conn& c = conns_[id];
  while (!c.out.empty()) {
    ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;  // POLLOUT brings us back
    }
    break;  // the client went away
  }
  Close(id);
}

void HealthServer::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it != conns_.end()) {
    close(it->second.fd);
    conns_.erase(it);
  }
}

void HealthServer::ExpireIdle(absl::Time now) {
  std::vector<uint64_t> stale;
  for (const auto& [id, conn] : conns_) {
    if (now - conn.accepted_at > kRequestTimeout) {
      stale.push_back(id);
    }
  }
  for (uint64_t id : stale) {
    Close(id);
  }
}

}  // namespace dprelay::control
