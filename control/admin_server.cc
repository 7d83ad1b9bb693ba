#include "control/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/log.h"

namespace dprelay::control {
namespace {

// Admin clients are a root operator's dprelayctl: a handful at a time is plenty, and a bound
// keeps a stuck script from exhausting descriptors.
constexpr size_t kMaxConnections = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Listen(const std::string& path,
                                                                 Handler handler) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("--admin_socket=", path,
                                                   ": path empty or longer than ",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(absl::StrCat(
          "--admin_socket=", path, ": cannot create directory ", dir, ": ", std::strerror(errno)));
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", std::strerror(errno)));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  unlink(path.c_str());  // a stale socket from a previous run
  // Created 0600 from the start: no window in which another user could connect.
  mode_t old_umask = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old_umask);
  if (rc != 0 || listen(fd, 16) != 0) {
    int err = errno;
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("--admin_socket=", path, ": bind/listen: ", std::strerror(err)));
  }
  chmod(path.c_str(), 0600);
  return std::unique_ptr<AdminServer>(new AdminServer(fd, path, std::move(handler)));
}

AdminServer::AdminServer(int listen_fd, std::string path, Handler handler)
    : listen_fd_(listen_fd),
      path_(std::move(path)),
      handler_(std::move(handler)),
      self_(std::make_shared<AdminServer*>(this)) {}

AdminServer::~AdminServer() {
  for (auto& [id, conn] : conns_) {
    close(conn.fd);
  }
  close(listen_fd_);
  unlink(path_.c_str());
}

void AdminServer::AppendPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({.fd = listen_fd_, .events = POLLIN, .revents = 0});
  for (const auto& [id, conn] : conns_) {
    short events = conn.out.empty() ? (conn.answered ? 0 : POLLIN) : POLLOUT;
    fds->push_back({.fd = conn.fd, .events = events, .revents = 0});
  }
}

void AdminServer::OnEvents(const std::vector<pollfd>& fds, size_t first) {
  // Connections are matched by fd: the map may not iterate in the order it did when the fds
  // were collected once handlers have run.
  std::vector<std::pair<int, short>> ready;
  for (size_t i = first + 1; i < fds.size(); ++i) {
    if (fds[i].revents != 0) {
      ready.emplace_back(fds[i].fd, fds[i].revents);
    }
  }
  for (const auto& [fd, revents] : ready) {
    uint64_t id = 0;
    for (const auto& [cid, conn] : conns_) {
      if (conn.fd == fd) {
        id = cid;
      }
    }
    if (id == 0) {
      continue;
    }
    if ((revents & POLLOUT) != 0) {
      Write(id);
    } else if ((revents & POLLIN) != 0) {
      Read(id);
    } else if ((revents & (POLLHUP | POLLERR)) != 0) {
      Close(id);
    }
  }
  if (first < fds.size() && (fds[first].revents & POLLIN) != 0) {
    Accept();
  }
}

void AdminServer::Accept() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;
    }
    if (conns_.size() >= kMaxConnections) {
      std::string busy =
          FormatAdminResponse(absl::ResourceExhaustedError("too many admin clients"));
      send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      close(fd);
      continue;
    }
    conns_.emplace(next_id_++, Conn{.fd = fd, .accepted_at = absl::Now()});
  }
}

void AdminServer::Read(uint64_t id) {
  Conn& conn = conns_.at(id);
  char buf[1024];
  ssize_t n = recv(conn.fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  if (n <= 0) {
    Close(id);
    return;
  }
  conn.in.append(buf, static_cast<size_t>(n));
  size_t newline = conn.in.find('\n');
  if (newline == std::string::npos) {
    if (conn.in.size() > kMaxAdminRequestLen) {
      Respond(id, absl::InvalidArgumentError("request line too long"));
    }
    return;
  }
  absl::StatusOr<AdminRequest> request = ParseAdminRequest(conn.in.substr(0, newline));
  conn.answered = true;
  if (!request.ok()) {
    Respond(id, request.status());
    return;
  }
  std::weak_ptr<AdminServer*> weak = self_;
  handler_(*request, [weak, id](const absl::StatusOr<std::string>& body) {
    if (std::shared_ptr<AdminServer*> self = weak.lock()) {
      (*self)->Respond(id, body);
    }
  });
}

void AdminServer::Respond(uint64_t id, const absl::StatusOr<std::string>& body) {
  auto it = conns_.find(id);
  if (it == conns_.end()) {
    return;  // the client went away meanwhile
  }
  it->second.answered = true;
  it->second.out = FormatAdminResponse(body);
  Write(id);
}

void AdminServer::Write(uint64_t id) {
  Conn& conn = conns_.at(id);
  while (!conn.out.empty()) {
    ssize_t n = send(conn.fd, conn.out.data(), conn.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        return;  // AppendPollFds asks for POLLOUT
      }
      Close(id);
      return;
    }
    conn.out.erase(0, static_cast<size_t>(n));
  }
  if (conn.answered) {
    Close(id);  // one request per connection: EOF ends the response
  }
}

void AdminServer::ExpireIdle(absl::Time now) {
  std::vector<uint64_t> idle;
  for (const auto& [id, conn] : conns_) {
    if (!conn.answered && now - conn.accepted_at > kRequestTimeout) {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) {
    Close(id);
  }
}

void AdminServer::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) {
    return;
  }
  close(it->second.fd);
  conns_.erase(it);
}

}  // namespace dprelay::control
