// The listening end of the admin API (control/admin_protocol.h): a non-blocking unix
// SOCK_STREAM socket driven by the control loop's poll(). A handler answers each request,
// at once or later (e.g. after a dataplane dump), through a Reply callback that stays safe to
// call after the client has gone.
#pragma once

#include <sys/poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/admin_access.h"
#include "control/admin_protocol.h"
#include "net/stream_server.h"
#include "net/unix_socket.h"

namespace dprelay::control {

// Not thread-safe: the control loop's thread only.
class AdminServer {
 public:
  using Reply = std::function<void(const absl::StatusOr<std::string>& body)>;
  // caller: who sent the request (SO_PEERCRED; its groups too when there is an operator group).
  using Handler =
      std::function<void(const AdminRequest& request, const AdminCaller& caller, Reply reply)>;

  // Creates the socket securely (net/unix_socket.h: mode 0600 from bind, in a trusted
  // directory created 0755 if missing, replacing only a stale socket of ours); with an
  // operator group (--admin_group, control/admin_access.h), mode 0660 with that group. Errors
  // name the flag and path.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Listen(
      const std::string& path, Handler handler,
      const std::optional<AdminGroup>& group = std::nullopt);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds the listening socket and every connection to fds.
  void AppendPollFds(std::vector<pollfd>* fds) { server_->AppendPollFds(fds); }
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now) {
    server_->OnEvents(fds, first, now);
  }

  // Closes connections that have not sent a complete request within kHeaderTimeout of
  // connecting, so a stuck client cannot hold a slot for ever.
  void ExpireIdle(absl::Time now) { server_->ExpireIdle(now); }

  // dprelayctl writes its one line right after connecting.
  static constexpr absl::Duration kHeaderTimeout = absl::Seconds(2);
  // Admin clients are an operator's dprelayctl and scripts: a handful at a time is plenty,
  // and the bounds keep a stuck script (or another local user, if the socket's mode is
  // widened) from exhausting descriptors or locking the others out.
  static constexpr size_t kMaxConnections = 32;
  static constexpr size_t kMaxPerUid = 8;

  const std::string& path() const { return socket_file_.path(); }
  size_t connections() const { return server_->connections(); }
  const net::StreamCounters& counters() const { return server_->counters(); }

 private:
  AdminServer(net::SocketFile socket_file, std::unique_ptr<net::StreamServer> server)
      : socket_file_(std::move(socket_file)), server_(std::move(server)) {}

  // Removed when the server goes away (after server_, which closes the listening socket).
  const net::SocketFile socket_file_;
  const std::unique_ptr<net::StreamServer> server_;
};

}  // namespace dprelay::control
