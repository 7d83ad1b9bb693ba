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

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/health.h"
#include "net/stream_server.h"
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
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void AppendPollFds(std::vector<pollfd>* fds) { server_->AppendPollFds(fds); }
  // Handles the poll results for the entries AppendPollFds added (same order, from `first`).
  void OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now) {
    server_->OnEvents(fds, first, now);
  }
  // Closes connections whose request is not complete kHeaderTimeout after they connected.
  void ExpireIdle(absl::Time now) { server_->ExpireIdle(now); }

  // A checker sends its request at once (an NLB times out a check after 2-10 s): two seconds
  // for the whole head is generous, and is how long an idle connection can hold a slot.
  static constexpr absl::Duration kHeaderTimeout = absl::Seconds(2);
  // Health checkers send a few hundred bytes; anything longer is not one.
  static constexpr size_t kMaxRequestHead = 4096;
  // A bound on descriptors for a flood of connections; legitimate checkers (an NLB probes
  // from one address per node, one connection at a time) hold a handful at once.
  static constexpr size_t kMaxConnections = 64;
  // Per client IPv4 address or IPv6 /64 (net::SourceByAddress); well above a checker's one.
  static constexpr size_t kMaxPerSource = 8;

  uint16_t port() const { return port_; }
  size_t connections() const { return server_->connections(); }
  const net::StreamCounters& counters() const { return server_->counters(); }

 private:
  HealthServer(uint16_t port, std::unique_ptr<net::StreamServer> server)
      : port_(port), server_(std::move(server)) {}

  const uint16_t port_;
  const std::unique_ptr<net::StreamServer> server_;
};

}  // namespace dprelay::control
