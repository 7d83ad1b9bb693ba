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

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/admin_protocol.h"

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
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds the listening socket and every connection to fds.
  void AppendPollFds(std::vector<pollfd>* fds) const;
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first);

  // Closes connections that have not sent a complete request within kRequestTimeout of
  // connecting, so a stuck client cannot hold a slot for ever.
  void ExpireIdle(absl::Time now);
  static constexpr absl::Duration kRequestTimeout = absl::Seconds(10);

  const std::string& path() const { return path_; }
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    std::string out;
    bool answered = false;  // a response is queued (or the request is being handled)
    absl::Time accepted_at;
  };

  AdminServer(int listen_fd, std::string path, Handler handler);
  void Accept();
  void Read(uint64_t id);
  void Write(uint64_t id);
  void Close(uint64_t id);
  void Respond(uint64_t id, const absl::StatusOr<std::string>& body);

  const int listen_fd_;
  const std::string path_;
  const Handler handler_;
  uint64_t next_id_ = 1;
  absl::flat_hash_map<uint64_t, Conn> conns_;
  std::shared_ptr<AdminServer*> self_;  // Reply callbacks hold a weak_ptr to this
};

}  // namespace dprelay::control
