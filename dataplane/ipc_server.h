// The dataplane's end of the control IPC (DESIGN.md §5): a non-blocking unix SOCK_SEQPACKET
// listener polled from the main lcore. One control connection at a time; a new one replaces
// the old, if it comes from root, our own uid or the --ipc_group (SO_PEERCRED; anyone else is
// refused and logged). If control goes away the dataplane keeps forwarding and waits for it to
// return.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/unique_fd.h"
#include "net/unix_socket.h"
#include "proto/ipc.h"

namespace dprelay {

class IpcServer {
 public:
  // Creates the socket file securely (net/unix_socket.h: mode 0600 from its creation, a
  // trusted directory, created if missing; only a stale socket of ours is replaced). Errors
  // name the flag and path. With `group` (--ipc_group) the socket is 0660 of that group and
  // peers running with that gid are accepted too (dprelay-control as user dprelay).
  static absl::StatusOr<std::unique_ptr<IpcServer>> Listen(
      const std::string& path, std::optional<gid_t> group = std::nullopt);
  IpcServer(const IpcServer&) = delete;
  IpcServer& operator=(const IpcServer&) = delete;

  // Accepts a waiting connection (on_connect runs, e.g. to send Hello) and hands every
  // decodable pending message to on_message. Never blocks.
  void Poll(const std::function<void()>& on_connect,
            const std::function<void(ipc::Message&&)>& on_message);
  // Sends to the connected control process; silently nothing when none is connected (it
  // resynchronises when it connects). When the socket buffer is full (a housekeeping pass
  // that expires thousands of sessions, a control process busy for a moment) the message
  // waits in order in a bounded queue that Poll drains as the socket empties: backpressure,
  // not a dropped link. The link closes only on a real error, or when control has not read
  // kMaxPendingBytes (it is gone or stuck; it resynchronises when it reconnects).
  void Send(const ipc::Message& msg);
  static constexpr size_t kMaxPendingBytes = 16u << 20;
  bool connected() const { return conn_fd_.valid(); }
  uint64_t bad_messages() const { return bad_messages_; }
  // Connections refused because the peer was neither root nor our uid (SO_PEERCRED).
  uint64_t refused_peers() const { return refused_peers_; }
  // Messages that had to wait for room, ever; waiting now; times the queue overflowed.
  uint64_t queued_messages() const { return queued_messages_; }
  size_t pending_messages() const { return pending_.size(); }
  uint64_t queue_overflows() const { return queue_overflows_; }

 private:
  IpcServer(net::UnixListener listener, std::optional<gid_t> group)
      : listener_(std::move(listener)), group_(group) {}
  void CloseConnection();
  // Sends what waits, in order, until the socket is full again. False if the link closed.
  bool Flush();
  // send() of one message: true if the socket took it, false if it is full (the message
  // waits); a real error closes the link.
  enum class SendResult { kSent, kFull, kClosed };
  SendResult SendNow(const std::vector<uint8_t>& bytes);

  net::UnixListener listener_;  // the socket file goes with it
  const std::optional<gid_t> group_;
  net::UniqueFd conn_fd_;
  uint64_t bad_messages_ = 0;
  uint64_t refused_peers_ = 0;
  std::deque<std::vector<uint8_t>> pending_;
  size_t pending_bytes_ = 0;
  uint64_t queued_messages_ = 0;
  uint64_t queue_overflows_ = 0;
};

}  // namespace dprelay
