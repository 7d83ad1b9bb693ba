// The dataplane's end of the control IPC (DESIGN.md §5): a non-blocking unix SOCK_SEQPACKET
// listener polled from the main lcore. One control connection at a time; a new one replaces
// the old, if it comes from root or our own uid (SO_PEERCRED; anyone else is refused and
// logged). If control goes away the dataplane keeps forwarding and waits for it to return.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/unique_fd.h"
#include "net/unix_socket.h"
#include "proto/ipc.h"

namespace dprelay {

class IpcServer {
 public:
  // Creates the socket file securely (net/unix_socket.h: mode 0600 from its creation, a
  // trusted directory, created if missing; only a stale socket of ours is replaced). Errors
  // name the flag and path.
  static absl::StatusOr<std::unique_ptr<IpcServer>> Listen(const std::string& path);
  IpcServer(const IpcServer&) = delete;
  IpcServer& operator=(const IpcServer&) = delete;

  // Accepts a waiting connection (on_connect runs, e.g. to send Hello) and hands every
  // decodable pending message to on_message. Never blocks.
  void Poll(const std::function<void()>& on_connect,
            const std::function<void(ipc::Message&&)>& on_message);
  // Sends to the connected control process; silently nothing when none is connected (it
  // resynchronises when it connects).
  void Send(const ipc::Message& msg);
  bool connected() const { return conn_fd_.valid(); }
  uint64_t bad_messages() const { return bad_messages_; }
  // Connections refused because the peer was neither root nor our uid (SO_PEERCRED).
  uint64_t refused_peers() const { return refused_peers_; }

 private:
  explicit IpcServer(net::UnixListener listener) : listener_(std::move(listener)) {}
  void CloseConnection();

  net::UnixListener listener_;  // the socket file goes with it
  net::UniqueFd conn_fd_;
  uint64_t bad_messages_ = 0;
  uint64_t refused_peers_ = 0;
};

}  // namespace dprelay
