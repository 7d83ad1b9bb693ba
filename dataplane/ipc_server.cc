#include "dataplane/ipc_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/peer_cred.h"
#include "proto/log.h"

namespace dprelay {
namespace {

// One control process connects; a few queued reconnects are plenty.
constexpr int kListenBacklog = 4;

}  // namespace

absl::StatusOr<std::unique_ptr<IpcServer>> IpcServer::Listen(const std::string& path,
                                                             std::optional<gid_t> group) {
  // Only root's control process (or one of our own uid, or of --ipc_group) may drive the
  // dataplane: the socket is 0600 (0660 of that group) from its creation, in a directory
  // nobody else can write to.
  absl::StatusOr<net::UnixListener> listener = net::ListenUnix(
      path, SOCK_SEQPACKET, kListenBacklog, absl::StrCat("--ipc_socket=", path), group);
  if (!listener.ok()) {
    return listener.status();
  }
  return std::unique_ptr<IpcServer>(new IpcServer(std::move(*listener), group));
}

void IpcServer::CloseConnection() {
  conn_fd_.Reset();
  pending_.clear();  // the next connection starts with a resync, not with these
  pending_bytes_ = 0;
}

void IpcServer::Poll(const std::function<void()>& on_connect,
                     const std::function<void(ipc::Message&&)>& on_message) {
  net::UniqueFd fd(accept4(listener_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (fd.valid()) {
    // Control sends installs with session keys and is obeyed: it must be root, our uid or of
    // --ipc_group. The socket's mode lets nobody else connect; this holds even if it widened.
    if (absl::Status peer = net::CheckTrustedPeer(fd.get(), group_); !peer.ok()) {
      ++refused_peers_;
      DPRELAY_LOG_ERROR("ipc %s: refusing a control connection: %s", listener_.file.path(),
                        peer.message());
      fd.Reset();
    }
  }
  if (fd.valid()) {
    if (conn_fd_.valid()) {
      DPRELAY_LOG_INFO("ipc: a new control connection replaces the old one");
    }
    conn_fd_ = std::move(fd);
    DPRELAY_LOG_INFO("ipc: control connected on %s", listener_.file.path());
    on_connect();
  }
  if (!conn_fd_.valid() || !Flush()) {
    return;
  }
  static thread_local std::vector<uint8_t> buf(ipc::kMaxMessageLen);
  for (;;) {
    ssize_t n = recv(conn_fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
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

IpcServer::SendResult IpcServer::SendNow(const std::vector<uint8_t>& bytes) {
  if (send(conn_fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
    return SendResult::kSent;
  }
  // A full SEQPACKET socket says EAGAIN; ENOBUFS is the same condition on some kernels.
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    return SendResult::kFull;
  }
  DPRELAY_LOG_WARNING("ipc: send: %s; dropping the control connection", std::strerror(errno));
  CloseConnection();
  return SendResult::kClosed;
}

bool IpcServer::Flush() {
  while (!pending_.empty()) {
    switch (SendNow(pending_.front())) {
      case SendResult::kSent:
        pending_bytes_ -= pending_.front().size();
        pending_.pop_front();
        break;
      case SendResult::kFull:
        return true;
      case SendResult::kClosed:
        return false;
    }
  }
  return true;
}

void IpcServer::Send(const ipc::Message& msg) {
  if (!conn_fd_.valid()) {
    return;
  }
  std::vector<uint8_t> bytes = ipc::Encode(msg);
  // Order matters (an expiry after its install): nothing overtakes what already waits.
  if (pending_.empty()) {
    const SendResult r = SendNow(bytes);
    if (r != SendResult::kFull) {
      return;
    }
  }
  if (pending_bytes_ + bytes.size() > kMaxPendingBytes) {
    ++queue_overflows_;
    DPRELAY_LOG_ERROR(
        "ipc: control has not read %zu queued bytes (%zu messages); dropping the connection, "
        "it resynchronises when it reconnects",
        pending_bytes_, pending_.size());
    CloseConnection();
    return;
  }
  ++queued_messages_;
  pending_bytes_ += bytes.size();
  pending_.push_back(std::move(bytes));
}

}  // namespace dprelay
