// One request per connection over a stream socket, driven by the owner's poll() loop: accept,
// read one request (bytes up to a terminator, within a size cap and a time limit), hand it to
// the handler, write the answer, close. Control's health endpoint (HTTP over TCP) and admin
// endpoint (a line over a unix socket) are both this; they differ only in the framing, the
// limits and what the handler says.
#pragma once

#include <sys/poll.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "net/unique_fd.h"

namespace dprelay::net {

struct StreamServerConfig {
  // Ends a request: "\r\n\r\n" for an HTTP head, "\n" for a line.
  std::string terminator;
  // Longest request (without the terminator); longer ones reach the handler as too_long.
  size_t max_request_len = 4096;
  // A request not complete this long after its connection was accepted is closed unanswered.
  absl::Duration request_timeout = absl::Seconds(5);
  // Connections held at once; past this a new one is refused.
  size_t max_connections = 64;
  // Written (best effort, never waited for) to a connection refused for a limit; may be empty.
  std::string busy_response;
};

// Not thread-safe: the poll loop's thread only.
class StreamServer {
 public:
  struct Request {
    std::string_view text;  // the bytes before the terminator
    bool too_long = false;  // no terminator within max_request_len; text is empty
  };
  // Writes `bytes` and closes the connection. May be called later (after the handler has
  // returned) and stays safe when the connection or the server is gone meanwhile.
  using Reply = std::function<void(std::string bytes)>;
  using Handler = std::function<void(const Request& request, Reply reply)>;

  StreamServer(UniqueFd listen_fd, StreamServerConfig config, Handler handler);
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Adds the listening socket and every connection to fds.
  void AppendPollFds(std::vector<pollfd>* fds);
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now);
  // Closes connections whose request is not complete within request_timeout of their accept.
  void ExpireIdle(absl::Time now);

  size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    UniqueFd fd;
    absl::Time accepted_at;
    std::string in;
    std::string out;
    bool requested = false;  // the request is complete: no more reading
  };

  void Accept(absl::Time now);
  void Read(uint64_t id);
  void Respond(uint64_t id, std::string bytes);
  void Write(uint64_t id);
  void Close(uint64_t id);
  void Refuse(UniqueFd fd);

  // Immutable after construction.
  const UniqueFd listen_fd_;
  const StreamServerConfig config_;
  const Handler handler_;

  uint64_t next_id_ = 1;
  // Keyed by an id that grows with every accept, so iteration is oldest first.
  std::map<uint64_t, Conn> conns_;
  // The connection ids in the order AppendPollFds listed them.
  std::vector<uint64_t> polled_;
  // Replies hold a weak_ptr to this: a late reply after the server is gone does nothing.
  std::shared_ptr<StreamServer*> self_;
};

}  // namespace dprelay::net
