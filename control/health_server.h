// The health endpoint (--health_listen): plain HTTP/1.0 and 1.1 on a TCP socket driven by the
// control loop's poll(), for load-balancer health checks (AWS NLB HTTP checks, or anything
// that GETs a URL). One request per connection:
//   GET /healthz   200 "ok\n" while the probe says healthy, else 503 with the reason
//   HEAD /healthz  the same status and headers, no body
//   other paths 404, other methods 405, a malformed or oversized request 400
// The response carries Connection: close and the server closes after writing it.
#pragma once

#include <sys/poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/health.h"
#include "proto/addr.h"

namespace dprelay::control {

// The whole HTTP response for a request head (request line and headers, up to the blank line).
std::string HealthHttpResponse(std::string_view request_head, const HealthVerdict& verdict);

// Not thread-safe: the control loop's thread only.
class HealthServer {
 public:
  using Probe = std::function<HealthVerdict()>;

  // Errors name the flag and address (e.g. the port is taken).
  static absl::StatusOr<std::unique_ptr<HealthServer>> Listen(const AddrPort& addr, Probe probe);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void AppendPollFds(std::vector<pollfd>* fds) const;
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now);
  // Closes connections older than kRequestTimeout (a stuck or slow client).
  void ExpireIdle(absl::Time now);

  static constexpr absl::Duration kRequestTimeout = absl::Seconds(5);
  // Health checkers send a few hundred bytes; anything longer is not one.
  static constexpr size_t kMaxRequestHead = 4096;

  uint16_t port() const { return port_; }
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    std::string out;
    bool answered = false;
    absl::Time accepted_at;
  };

  HealthServer(int listen_fd, uint16_t port, Probe probe);
  void Accept(absl::Time now);
  void Read(uint64_t id);
  void Write(uint64_t id);
  void Close(uint64_t id);

  const int listen_fd_;
  const uint16_t port_;
  const Probe probe_;
  uint64_t next_id_ = 1;
  absl::flat_hash_map<uint64_t, Conn> conns_;
};

}  // namespace dprelay::control
