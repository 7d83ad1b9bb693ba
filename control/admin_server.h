// The listening end of the admin API (control/admin_protocol.h): a non-blocking unix
// SOCK_STREAM socket driven by the control loop's poll(). A handler answers each request,
// at once or later (e.g. after a dataplane dump), through a Reply callback that stays safe to
// call after the client has gone.
#pragma once

#include <sys/poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/admin_protocol.h"
#include "net/stream_server.h"
#include "net/unix_socket.h"

namespace dprelay::control {

// Not thread-safe: the control loop's thread only.
class AdminServer {
 public:
  using Reply = std::function<void(const absl::StatusOr<std::string>& body)>;
  using Handler = std::function<void(const AdminRequest& request, Reply reply)>;

  // Creates the socket (and its directory, 0755) with mode 0600, replacing a stale socket
  // file. Errors name the path.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Listen(const std::string& path,
                                                             Handler handler);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds the listening socket and every connection to fds.
  void AppendPollFds(std::vector<pollfd>* fds) { server_->AppendPollFds(fds); }
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now) {
    server_->OnEvents(fds, first, now);
  }

  // Closes connections that have not sent a complete request within kRequestTimeout of
  // connecting, so a stuck client cannot hold a slot for ever.
  void ExpireIdle(absl::Time now) { server_->ExpireIdle(now); }
  static constexpr absl::Duration kRequestTimeout = absl::Seconds(10);

  const std::string& path() const { return socket_file_.path(); }
  size_t connections() const { return server_->connections(); }

 private:
  AdminServer(net::SocketFile socket_file, std::unique_ptr<net::StreamServer> server)
      : socket_file_(std::move(socket_file)), server_(std::move(server)) {}

  // Removed when the server goes away (after server_, which closes the listening socket).
  const net::SocketFile socket_file_;
  const std::unique_ptr<net::StreamServer> server_;
};

}  // namespace dprelay::control
