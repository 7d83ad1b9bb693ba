#include "control/control_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/admin_dispatch.h"
#include "control/static_endpoints.h"
#include "proto/key.h"
#include "proto/log.h"

namespace dprelay::control {
namespace {

// Datagrams read per wake-up before the loop looks at the other sockets again.
constexpr int kMaxAllocationsPerWake = 64;
// A request is 70 B of cleartext; anything up to the UDP maximum is read whole so that it is
// refused for what it is rather than truncated.
constexpr size_t kAllocationBufferLen = 65535;
// Refusals are driven by whoever sends us packets: cap their log lines (they are still all
// counted).
constexpr uint64_t kRefusalLogsPerSecond = 20;
// The loop wakes at least this often even when idle (reconnects are due at 1 s).
constexpr absl::Duration kMaxPollWait = absl::Seconds(1);
// How often the exporter's figures are refreshed (a scrape sees values at most this old).
constexpr absl::Duration kMetricsInterval = absl::Seconds(1);

std::string ErrnoText(int err) { return std::strerror(err); }

// Kernel dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; log and key them as IPv4.
AddrPort Unmap(AddrPort ap) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ap.ip.is_v6() && std::memcmp(ap.ip.bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    ap.ip = IpAddr::V4(ap.ip.bytes[12], ap.ip.bytes[13], ap.ip.bytes[14], ap.ip.bytes[15]);
  }
  return ap;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Create(const ControlConfig& config) {
  // Everything that can be refused is read before the key store creates state, so a start
  // that fails on its configuration leaves nothing behind.
  absl::StatusOr<Policy> policy = Policy::LoadFile(config.policy_path);
  if (!policy.ok()) {
    return policy.status();
  }
  if (policy->size() == 0) {
    DPRELAY_LOG_WARNING("%s: no keys: every allocation will be refused", config.policy_path);
  }
  absl::StatusOr<std::optional<std::vector<AddrPort>>> runtime_static =
      LoadRuntimeStaticEndpoints(config.state_dir);
  if (!runtime_static.ok()) {
    return runtime_static.status();
  }
  absl::StatusOr<std::unique_ptr<KeyStore>> keys =
      KeyStore::Open(KeyStoreConfig{.state_dir = config.state_dir});
  if (!keys.ok()) {
    return keys.status();
  }
  absl::StatusOr<std::unique_ptr<AllocationSocket>> socket = AllocationSocket::Open(config.listen);
  if (!socket.ok()) {
    return socket.status();
  }
  std::unique_ptr<ControlServer> server(new ControlServer(config, std::move(*keys),
                                                          std::move(*policy), std::move(*socket),
                                                          std::move(*runtime_static)));
  if (!config.admin_socket.empty()) {
    ControlServer* self = server.get();
    const AdminAccessPolicy access{.self_uid = geteuid(), .group = config.admin_group};
    absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Listen(
        config.admin_socket,
        [self, access](const AdminRequest& request, const AdminCaller& caller,
                       AdminServer::Reply reply) {
          DispatchAdmin(*self, request, caller, access, std::move(reply));
        },
        config.admin_group);
    if (!admin.ok()) {
      return admin.status();
    }
    server->admin_ = std::move(*admin);
  }
  if (config.metrics_listen.has_value()) {
    absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Start(*config.metrics_listen);
    if (!metrics.ok()) {
      return metrics.status();
    }
    server->metrics_ = std::move(*metrics);
  }
  if (config.health_listen.has_value()) {
    const ControlServer* self = server.get();
    absl::StatusOr<std::unique_ptr<HealthServer>> health =
        HealthServer::Listen(*config.health_listen, [self] { return self->Health(); });
    if (!health.ok()) {
      return health.status();
    }
    server->health_ = std::move(*health);
  }
  return server;
}

ControlServer::ControlServer(const ControlConfig& config, std::unique_ptr<KeyStore> keys,
                             Policy policy, std::unique_ptr<AllocationSocket> socket,
                             std::optional<std::vector<AddrPort>> runtime_static)
    : config_(config),
      keys_(std::move(keys)),
      socket_(std::move(socket)),
      policy_(std::move(policy)),
      registry_(RegistryConfig{}, keys_.get()),
      allocator_(
          AllocatorConfig{
              .control_key = &keys_->control_key(),
              .server_disco_key = &keys_->server_disco_key(),
              .bind_lifetime = config.bind_lifetime,
              .steady_state_lifetime = config.steady_state_lifetime,
          },
          &policy_, &registry_),
      link_(DataplaneLinkConfig{.socket_path = config.dataplane_socket},
            allocator_.session_params(), &registry_,
            // The key stays in the key store's guarded memory: no copy in the closure.
            [keys = keys_.get()](const KeyPair& pair) -> absl::StatusOr<std::array<SharedKey, 2>> {
              std::array<SharedKey, 2> shared;
              for (size_t i = 0; i < 2; ++i) {
                absl::StatusOr<SharedKey> leg =
                    ComputeSharedKey(pair[i], keys->server_disco_key().priv);
                if (!leg.ok()) {
                  return leg.status();
                }
                shared[i] = *leg;
              }
              return shared;
            }),
      runtime_static_(std::move(runtime_static)),
      rx_buf_(kAllocationBufferLen) {}

ControlServer::~ControlServer() = default;

namespace {

// The STATUS= line of `systemctl status dprelay-control`.
std::string ServiceStatus(const AddrPort& listen, const DataplaneLink& link) {
  const char* dataplane = "dataplane not connected";
  switch (link.state()) {
    case DataplaneLink::State::kDisconnected:
    case DataplaneLink::State::kConnecting:
      break;
    case DataplaneLink::State::kConnected:
    case DataplaneLink::State::kSyncing:
      dataplane = "dataplane connected, syncing";
      break;
    case DataplaneLink::State::kReady:
      dataplane = "dataplane ready";
      break;
  }
  return absl::StrCat("allocations on ", FormatAddrPort(listen), "; ", dataplane);
}

}  // namespace

absl::Status ControlServer::Run(int stop_fd, net::ServiceNotifier* notify) {
  DPRELAY_LOG_INFO(
      "dprelay-control: control key %s, server disco key %s, listening on %s, %d allowed keys, "
      "lifetimes bind=%s steady=%s, next lamport > %d",
      FormatDiscoKey(keys_->control_key().pub), FormatDiscoKey(keys_->server_disco_key().pub),
      FormatAddrPort(local_addr()), policy_.size(), absl::FormatDuration(config_.bind_lifetime),
      absl::FormatDuration(config_.steady_state_lifetime), registry_.last_lamport_id());
  {
    std::string source;
    const std::vector<AddrPort>& statics = StaticEndpoints(&source);
    DPRELAY_LOG_INFO("static endpoints [%s] (from %s)%s; admin %s; metrics %s; health %s",
                     FormatEndpointList(statics), source,
                     config_.static_only ? ", static only" : "", admin_ ? admin_->path() : "off",
                     config_.metrics_listen ? FormatAddrPort(*config_.metrics_listen) : "off",
                     config_.health_listen ? FormatAddrPort(*config_.health_listen) : "off");
    if (config_.static_only && statics.empty()) {
      DPRELAY_LOG_WARNING(
          "--static_only with no static endpoint: nothing to advertise, every allocation is "
          "refused (no_addr_ports) until `dprelayctl set static-endpoints`");
    }
  }
  if (notify != nullptr) {
    // Every socket was bound by Create; from here the loop serves them.
    notify->Ready(ServiceStatus(local_addr(), link_));
  }
  while (true) {
    absl::Time now = absl::Now();
    link_.Tick(now);
    if (notify != nullptr) {
      // A turn of this loop is the whole of control's health: poll wakes at least every
      // kMaxPollWait, so a stuck handler (not an idle relay) is what stops the keep-alives.
      notify->Status(ServiceStatus(local_addr(), link_));
      notify->Watchdog();
    }
    std::string static_source;
    link_.SetAdvertised(StaticEndpoints(&static_source), now);
    // The dataplane's counters feed the exporter, the health check and `dprelayctl counters`.
    if ((metrics_ != nullptr || health_ != nullptr || admin_ != nullptr) && now >= next_metrics_) {
      next_metrics_ = now + kMetricsInterval;
      UpdateMetrics(now);
    }

    const int link_fd = link_.fd();
    std::vector<pollfd> fds = {
        {.fd = stop_fd, .events = POLLIN, .revents = 0},
        {.fd = socket_->fd(), .events = POLLIN, .revents = 0},
        {.fd = link_fd, .events = link_.poll_events(), .revents = 0},  // fd -1 is ignored
    };
    const size_t admin_first = fds.size();
    if (admin_ != nullptr) {
      admin_->AppendPollFds(&fds);
    }
    const size_t health_first = fds.size();
    if (health_ != nullptr) {
      health_->AppendPollFds(&fds);
    }
    const absl::Duration wait =
        std::clamp(link_.next_deadline() - now, absl::ZeroDuration(), kMaxPollWait);
    const int timeout_ms =
        static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::InternalError(absl::StrCat("poll: ", ErrnoText(errno)));
    }
    now = absl::Now();
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      signalfd_siginfo si{};
      ssize_t n = read(stop_fd, &si, sizeof(si));
      if (n == static_cast<ssize_t>(sizeof(si)) && si.ssi_signo == SIGHUP) {
        ReloadPolicy().IgnoreError();  // logged; the old policy stays
      } else {
        const char* why = n == static_cast<ssize_t>(sizeof(si))
                              ? strsignal(static_cast<int>(si.ssi_signo))
                              : "stop requested";
        DPRELAY_LOG_INFO("dprelay-control: %s, exiting (%d endpoints, %d allocated, %d refused)",
                         why, registry_.size(), counters_.allocated, TotalRefusals());
        if (notify != nullptr) {
          notify->Stopping(absl::StrCat("stopping: ", why));
        }
        return absl::OkStatus();
      }
    }
    if ((fds[1].revents & POLLIN) != 0) {
      ReadAllocations(now);
    }
    // The allocation path may have dropped (and closed) the link; only hand it events for the
    // connection they were polled on.
    if (link_fd >= 0 && fds[2].revents != 0 && link_.fd() == link_fd) {
      link_.OnEvents(fds[2].revents, now);
    }
    if (admin_ != nullptr) {
      admin_->OnEvents(fds, admin_first, now);
      admin_->ExpireIdle(now);
    }
    if (health_ != nullptr) {
      health_->OnEvents(fds, health_first, now);
      health_->ExpireIdle(now);
    }
  }
}

uint64_t ControlServer::TotalRefusals() const {
  uint64_t total = 0;
  for (uint64_t c : counters_.refusals) {
    total += c;
  }
  return total;
}

void ControlServer::ReadAllocations(absl::Time now) {
  for (int i = 0; i < kMaxAllocationsPerWake; ++i) {
    absl::StatusOr<std::optional<AllocationSocket::Datagram>> datagram =
        socket_->Receive(std::span<uint8_t>(rx_buf_));
    if (!datagram.ok()) {
      // ICMP errors from earlier replies surface here (ECONNREFUSED); nothing to do.
      DPRELAY_LOG_WARNING("%s", datagram.status().message());
      return;
    }
    if (!datagram->has_value()) {
      return;
    }
    HandleDatagram(std::span<const uint8_t>(rx_buf_.data(), (*datagram)->size), **datagram, now);
  }
}

void ControlServer::HandleDatagram(std::span<const uint8_t> bytes,
                                   const AllocationSocket::Datagram& datagram, absl::Time now) {
  ++counters_.requests;
  absl::StatusOr<AddrPort> src =
      FromSockaddr(reinterpret_cast<const sockaddr*>(&datagram.peer), datagram.peer_len);
  AddrPort source = src.ok() ? Unmap(*src) : AddrPort{};
  const std::vector<AddrPort> advertised = Advertised();
  AllocatorResult result = allocator_.Handle(bytes, source, now, advertised);
  if (result.refusal.has_value()) {
    ++counters_.refusals[static_cast<size_t>(*result.refusal)];
    refusal_log_.Add(RefusalRecord{
        .at = now, .reason = *result.refusal, .sender = result.sender, .source = source});
    if (AllowRefusalLog(now)) {
      DPRELAY_LOG_INFO("refused reason=%s sender=%s src=%s", RefusalName(*result.refusal),
                       result.sender.has_value() ? ShortDisco(*result.sender) : "-",
                       FormatAddrPort(source));
    }
    return;
  }
  if (absl::Status sent = socket_->Reply(datagram, result.reply); !sent.ok()) {
    ++counters_.reply_send_errors;  // the client retries; counted and logged
    DPRELAY_LOG_WARNING("%s", sent.message());
  }
  const Endpoint& ep = result.allocation->endpoint;
  const bool created = result.allocation->created;
  ++(created ? counters_.allocated : counters_.reallocated);
  DPRELAY_LOG_INFO("%s vni=%d lamport=%d keys=%s,%s src=%s", created ? "allocated" : "reallocated",
                   ep.vni, ep.lamport_id, ShortDisco(ep.client_keys[0]),
                   ShortDisco(ep.client_keys[1]), FormatAddrPort(source));
  if (result.install.has_value()) {
    link_.InstallNew(*result.install, now);
  }
}

absl::Status ControlServer::ReloadPolicy() {
  absl::StatusOr<Policy> policy = Policy::LoadFile(config_.policy_path);
  if (!policy.ok()) {
    DPRELAY_LOG_ERROR("policy reload failed, keeping the previous one (%d keys): %s",
                      policy_.size(), policy.status().message());
    return policy.status();
  }
  policy_ = std::move(*policy);
  allocator_.PolicyChanged();  // forget the shared keys of keys no longer allowed
  // Live endpoints are not revoked: they expire on their own lifetimes.
  DPRELAY_LOG_INFO("policy reloaded from %s: %d allowed keys, %d source rules, capacity %d",
                   config_.policy_path, policy_.size(), policy_.source_rules(), policy_.capacity());
  return absl::OkStatus();
}

const std::vector<AddrPort>& ControlServer::StaticEndpoints(std::string* source) const {
  static const std::vector<AddrPort> kNone;
  if (runtime_static_.has_value()) {
    *source = "runtime";
    return *runtime_static_;
  }
  if (!config_.static_endpoints.empty()) {
    *source = "flag";
    return config_.static_endpoints;
  }
  if (!policy_.static_endpoints().empty()) {
    *source = "policy";
    return policy_.static_endpoints();
  }
  *source = "none";
  return kNone;
}

std::vector<AddrPort> ControlServer::Advertised() const {
  if (!link_.ready()) {
    return {};  // nothing is installed until the dataplane is connected and synced
  }
  std::string source;
  std::vector<AddrPort> out = StaticEndpoints(&source);
  if (!config_.static_only) {
    // Static first, then the dataplane's, not deduplicated (as the reference does).
    out.insert(out.end(), link_.relay_addrs().begin(), link_.relay_addrs().end());
  }
  return out;
}

void ControlServer::UpdateMetrics(absl::Time now) {
  ControlMetricsSnapshot s;
  s.requests = counters_.requests;
  s.allocated = counters_.allocated;
  s.reallocated = counters_.reallocated;
  s.refusals = counters_.refusals;
  s.sessions = registry_.size();
  registry_.ForEachFrom(0, [&s](const Endpoint& ep) {
    if (ep.bound[0].valid() && ep.bound[1].valid()) {
      ++s.sessions_open;
    }
    return true;
  });
  s.capacity = registry_.capacity();
  if (policy_.capacity() != 0 && policy_.capacity() < s.capacity) {
    s.capacity = policy_.capacity();
  }
  s.dataplane_up = link_.ready();
  if (health_ != nullptr) {
    s.health_connections = health_->counters();
  }
  if (admin_ != nullptr) {
    s.admin_connections = admin_->counters();
  }
  if (metrics_ != nullptr) {
    metrics_->UpdateControl(s);
  }
  link_.RequestStats(
      [this](const ipc::StatsReply& reply) {
        last_stats_at_ = absl::Now();
        last_stats_ = reply;
        health_monitor_.OnStats(last_stats_at_, reply.counters);
        if (metrics_ != nullptr) {
          metrics_->UpdateDataplane(reply);
        }
      },
      now);
}

bool ControlServer::AllowRefusalLog(absl::Time now) {
  if (now - log_window_start_ >= absl::Seconds(1)) {
    if (logs_suppressed_ > 0) {
      DPRELAY_LOG_INFO("suppressed %d refusal log lines", logs_suppressed_);
    }
    log_window_start_ = now;
    logs_in_window_ = 0;
    logs_suppressed_ = 0;
  }
  if (logs_in_window_ < kRefusalLogsPerSecond) {
    ++logs_in_window_;
    return true;
  }
  ++logs_suppressed_;
  return false;
}

}  // namespace dprelay::control
