#include "dataplane/ipc_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "proto/log.h"

namespace dprelay {

absl::StatusOr<std::unique_ptr<IpcServer>> IpcServer::Listen(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--ipc_socket=%s: path empty or longer than %zu bytes", path, sizeof(addr.sun_path) - 1));
  }
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "--ipc_socket=%s: cannot create directory %s: %s", path, dir, std::strerror(errno)));
    }
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("socket(AF_UNIX): %s", std::strerror(errno)));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  unlink(path.c_str());  // a stale socket from a previous run
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4) != 0) {
    int err = errno;
    close(fd);
    return absl::InternalError(
        absl::StrFormat("--ipc_socket=%s: bind/listen: %s", path, std::strerror(err)));
  }
  chmod(path.c_str(), 0600);  // only root's control process may drive the dataplane
  return std::unique_ptr<IpcServer>(new IpcServer(fd, path));
}

IpcServer::~IpcServer() {
  CloseConnection();
  close(listen_fd_);
  unlink(path_.c_str());
}

void IpcServer::CloseConnection() {
  if (conn_fd_ >= 0) {
    close(conn_fd_);
    conn_fd_ = -1;
  }
}

void IpcServer::Poll(const std::function<void()>& on_connect,
                     const std::function<void(ipc::Message&&)>& on_message) {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    if (conn_fd_ >= 0) {
      DPRELAY_LOG_INFO("ipc: a new control connection replaces the old one");
    }
    CloseConnection();
    conn_fd_ = fd;
    DPRELAY_LOG_INFO("ipc: control connected on %s", path_);
    on_connect();
  }
  if (conn_fd_ < 0) {
    return;
  }
  static thread_local std::vector<uint8_t> buf(ipc::kMaxMessageLen);
  for (;;) {
    ssize_t n = recv(conn_fd_, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        DPRELAY_LOG_WARNING("ipc: recv: %s; dropping the control connection", std::strerror(errno));
        CloseConnection();
      }
      return;
    }
    if (n == 0) {
      DPRELAY_LOG_INFO("ipc: control disconnected; forwarding continues");
      CloseConnection();
      return;
    }
    if (static_cast<size_t>(n) > buf.size()) {
      ++bad_messages_;
      DPRELAY_LOG_WARNING("ipc: dropped an oversized message (%zd bytes)", n);
      continue;
    }
    absl::StatusOr<ipc::Message> msg =
        ipc::Decode(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    if (!msg.ok()) {
      ++bad_messages_;
      DPRELAY_LOG_WARNING("ipc: dropped an undecodable message: %s", msg.status().ToString());
      continue;
    }
    on_message(*std::move(msg));
  }
}

void IpcServer::Send(const ipc::Message& msg) {
  if (conn_fd_ < 0) {
    return;
  }
  std::vector<uint8_t> bytes = ipc::Encode(msg);
  if (send(conn_fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    DPRELAY_LOG_WARNING("ipc: send: %s; dropping the control connection", std::strerror(errno));
    CloseConnection();
  }
}

}  // namespace dprelay
