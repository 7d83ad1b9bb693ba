// One request per connection over a stream socket, driven by the owner's poll() loop: accept,
// read one request (bytes up to a terminator, within a size cap and a header timeout), hand it
// to the handler, write the answer, close. Control's health endpoint (HTTP over TCP) and admin
// endpoint (a line over a unix socket) are both this; they differ only in the framing, the
// limits, how a source is told apart and what the handler says.
//
// Nobody can starve it (issue 10 item 7). Each connection is charged to its source (a client
// IP, a local uid). A source holding max_per_source connections gets no more. When the server
// holds max_connections, a newcomer whose source holds fewer than the source holding the most
// evicts that source's oldest connection; otherwise it is refused. So a source that holds
// nothing, such as a load balancer's next probe, is always served, however many connections
// others keep open; and whatever they open is closed header_timeout after its accept unless it
// has sent a whole request.
#pragma once

#include <sys/poll.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "net/stream_counters.h"
#include "net/unique_fd.h"

namespace dprelay::net {

// The source a connection is charged to, from the accepted fd and its peer address: e.g.
// "203.0.113.7" or "uid 0". Empty if it cannot be told (the connection is refused).
using SourceFn = std::function<std::string(int fd, const sockaddr_storage& peer, socklen_t len)>;

// By client address: an IPv4 address, or an IPv6 /64 (what one host or subscriber gets, so a
// host cannot multiply itself through its addresses); v4-mapped IPv6 counts as IPv4.
std::string SourceByAddress(int fd, const sockaddr_storage& peer, socklen_t len);
// By the peer's uid (SO_PEERCRED), for unix sockets.
std::string SourceByUid(int fd, const sockaddr_storage& peer, socklen_t len);

struct StreamServerConfig {
  // Ends a request: "\r\n\r\n" for an HTTP head, "\n" for a line.
  std::string terminator;
  // Longest request (without the terminator); longer ones reach the handler as too_long.
  size_t max_request_len = 4096;
  // A request not complete this long after its connection was accepted is closed unanswered.
  absl::Duration header_timeout = absl::Seconds(2);
  // Connections held at once; past this a newcomer evicts or is refused (top of this file).
  size_t max_connections = 64;
  // Connections one source may hold at once.
  size_t max_per_source = 8;
  // Written (best effort, never waited for) to a connection refused for a limit; may be empty.
  std::string busy_response;
};

// Not thread-safe: the poll loop's thread only.
class StreamServer {
 public:
  struct Request {
    // The bytes before the terminator; valid until the handler returns or calls its reply.
    std::string_view text;
    bool too_long = false;  // no terminator within max_request_len; text is empty
    int fd = -1;            // the connection, e.g. for SO_PEERCRED; valid while the handler runs
  };
  // Writes `bytes` and closes the connection. May be called later (after the handler has
  // returned) and stays safe when the connection or the server is gone meanwhile.
  using Reply = std::function<void(std::string bytes)>;
  using Handler = std::function<void(const Request& request, Reply reply)>;

  StreamServer(UniqueFd listen_fd, StreamServerConfig config, SourceFn source, Handler handler);
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Adds the listening socket and every connection to fds.
  void AppendPollFds(std::vector<pollfd>* fds);
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now);
  // Closes connections whose request is not complete within header_timeout of their accept.
  void ExpireIdle(absl::Time now);

  size_t connections() const { return conns_.size(); }
  // Connections `source` holds now.
  size_t connections_from(const std::string& source) const;
  const StreamCounters& counters() const { return counters_; }

 private:
  struct Conn {
    UniqueFd fd;
    std::string source;
    absl::Time accepted_at;
    std::string in;
    std::string out;
    bool requested = false;  // the request is complete: no more reading
  };

  void Accept(absl::Time now);
  // Makes room for one more connection from `source`, or says why not.
  std::optional<StreamCounter> Admit(const std::string& source);
  void Read(uint64_t id);
  void Respond(uint64_t id, std::string bytes);
  void Write(uint64_t id);
  void Close(uint64_t id);
  void Refuse(UniqueFd fd, StreamCounter why);
  void Count(StreamCounter c) { ++counters_[static_cast<size_t>(c)]; }

  // Immutable after construction.
  const UniqueFd listen_fd_;
  const StreamServerConfig config_;
  const SourceFn source_;
  const Handler handler_;

  uint64_t next_id_ = 1;
  // Keyed by an id that grows with every accept, so iteration is oldest first.
  std::map<uint64_t, Conn> conns_;
  // Connections held per source (only sources holding some).
  absl::flat_hash_map<std::string, size_t> per_source_;
  StreamCounters counters_{};
  // The connection ids in the order AppendPollFds listed them.
  std::vector<uint64_t> polled_;
  // Replies hold a weak_ptr to this: a late reply after the server is gone does nothing.
  std::shared_ptr<StreamServer*> self_;
};

}  // namespace dprelay::net
