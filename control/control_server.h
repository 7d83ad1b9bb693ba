// dprelay-control's event loop: the allocation socket (kernel UDP) and the dataplane link,
// multiplexed with poll() on one thread. Owns the key store, policy, registry and allocator.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/admin_commands.h"
#include "control/admin_render.h"
#include "control/admin_server.h"
#include "control/allocation_socket.h"
#include "control/allocator.h"
#include "control/control_config.h"
#include "control/dataplane_link.h"
#include "control/health.h"
#include "control/health_server.h"
#include "control/key_store.h"
#include "control/metrics.h"
#include "control/policy.h"
#include "control/refusal_log.h"
#include "control/registry.h"
#include "net/service_notify.h"
#include "proto/addr.h"

namespace dprelay::control {

struct ControlCounters {
  uint64_t requests = 0;
  uint64_t allocated = 0;    // new endpoints
  uint64_t reallocated = 0;  // same pair again
  uint64_t reply_send_errors = 0;
  std::array<uint64_t, kRefusalCount> refusals{};
};

// Not thread-safe: everything runs on the thread that calls Run(). Answers the admin commands
// (control/admin_commands.h) in control/control_admin.cc.
class ControlServer : private AdminHandlers {
 public:
  // Opens the state directory, loads the policy and binds the allocation socket. Errors name
  // the file or address at fault.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Create(const ControlConfig& config);
  ~ControlServer() override;

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Serves until stop_fd becomes readable. stop_fd is normally a signalfd for SIGINT, SIGTERM
  // and SIGHUP: SIGHUP reloads the policy file, anything else stops. Any other readable fd
  // (tests use an eventfd) also stops. Returns an error only if poll fails. `notify` (may be
  // null) hears READY=1 once the loop runs, a STATUS= line when the dataplane link changes,
  // WATCHDOG=1 from every turn of the loop and STOPPING=1 at the end.
  absl::Status Run(int stop_fd, net::ServiceNotifier* notify = nullptr);

  // The bound allocation socket address (useful with port 0).
  const AddrPort& local_addr() const { return socket_->local_addr(); }
  const ControlCounters& counters() const { return counters_; }
  const RefusalLog& refusal_log() const { return refusal_log_; }
  // What an allocation advertises now: static endpoints first, then (unless static_only) the
  // dataplane's addresses; empty while the dataplane is not connected and synced.
  std::vector<AddrPort> Advertised() const;
  // The static endpoints in force and where they come from ("runtime", "flag", "policy",
  // "none"); see control/static_endpoints.h.
  const std::vector<AddrPort>& StaticEndpoints(std::string* source) const;
  uint64_t TotalRefusals() const;
  size_t endpoints() const { return registry_.size(); }
  // The exporter's port, 0 when --metrics_listen is off.
  uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  // The health endpoint's port, 0 when --health_listen is off.
  uint16_t health_port() const { return health_ ? health_->port() : 0; }
  // What GET /healthz answers now.
  HealthVerdict Health() const { return health_monitor_.Check(absl::Now(), link_.state()); }

 private:
  ControlServer(const ControlConfig& config, std::unique_ptr<KeyStore> keys, Policy policy,
                std::unique_ptr<AllocationSocket> socket,
                std::optional<std::vector<AddrPort>> runtime_static);

  void ReadAllocations(absl::Time now);
  // One request (bytes, as read for datagram); the reply goes back through socket_.
  void HandleDatagram(std::span<const uint8_t> bytes, const AllocationSocket::Datagram& datagram,
                      absl::Time now);
  absl::Status ReloadPolicy();
  // The admin commands (control/control_admin.cc).
  void AdminStatus(const AdminCall& call, AdminReply reply) override;
  void AdminSessions(const AdminCall& call, AdminReply reply) override;
  void AdminPing(const AdminCall& call, AdminReply reply) override;
  void AdminRefusals(const AdminCall& call, AdminReply reply) override;
  void AdminReload(const AdminCall& call, AdminReply reply) override;
  void AdminSetStaticEndpoints(const AdminCall& call, AdminReply reply) override;
  void AdminEvict(const AdminCall& call, AdminReply reply) override;
  void AdminVersion(const AdminCall& call, AdminReply reply) override;
  void AdminCounters(const AdminCall& call, AdminReply reply) override;
  // Ends these sessions now (registry and dataplane) and logs why; returns those ended.
  std::vector<Endpoint> Evict(const std::vector<uint32_t>& vnis, const char* why);
  StatusInfo Status() const;
  // Every second: control's figures to the exporter, and a StatsRequest to the dataplane whose
  // reply feeds the exporter, the health monitor and `dprelayctl counters`.
  void UpdateMetrics(absl::Time now);
  absl::StatusOr<std::string> SetStaticEndpoints(const std::string& argument, bool json);
  // At most kRefusalLogsPerSecond refusal lines per second; the rest are summarised.
  bool AllowRefusalLog(absl::Time now);

  // Immutable after construction.
  const ControlConfig config_;
  const std::unique_ptr<KeyStore> keys_;
  const std::unique_ptr<AllocationSocket> socket_;

  // Control loop thread only. Declaration order is construction order: the allocator and the
  // link point at policy_ and registry_.
  Policy policy_;
  Registry registry_;
  Allocator allocator_;
  DataplaneLink link_;
  ControlCounters counters_;
  RefusalLog refusal_log_;
  std::optional<std::vector<AddrPort>> runtime_static_;  // set by dprelayctl, persisted
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<HealthServer> health_;
  HealthMonitor health_monitor_;
  // The dataplane's last StatsReply and when it came: what `dprelayctl counters` shows.
  std::optional<ipc::StatsReply> last_stats_;
  absl::Time last_stats_at_ = absl::InfinitePast();
  absl::Time next_metrics_ = absl::InfinitePast();
  std::vector<uint8_t> rx_buf_;
  absl::Time log_window_start_ = absl::InfinitePast();
  uint64_t logs_in_window_ = 0;
  uint64_t logs_suppressed_ = 0;
};

}  // namespace dprelay::control
