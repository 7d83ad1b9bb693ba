// The control side of the control <-> dataplane IPC (DESIGN.md §5, proto/ipc.h). The dataplane
// listens on a unix SOCK_SEQPACKET socket; this link connects to it, retries while it is away,
// and keeps the dataplane's sessions in step with the registry:
//   - Hello: remember the relay addresses (every allocation advertises them) and the table
//     size, then read the dataplane's session dump page by page (DumpRequest/DumpReply): what
//     the dataplane has and the registry lacks is restored into the registry (control was
//     restarted), what the registry has and the dataplane lacks is reinstalled with its bound
//     legs (the dataplane was restarted). Allocations wait until this sync is complete, so the
//     same pair never gets a second endpoint;
//   - LegBound: record the leg in the registry; SessionExpired: remove it (frees the VNI);
//   - InstallResult !ok: log it and remove the endpoint.
// On disconnect the relay addresses become unknown (allocations get no reply) but the registry
// is kept. The link is driven by the caller's poll loop; it never blocks.
#pragma once

#include <sys/poll.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/registry.h"
#include "control/session_params.h"
#include "net/unique_fd.h"
#include "proto/addr.h"
#include "proto/ipc.h"

namespace dprelay::control {

struct DataplaneLinkConfig {
  std::string socket_path;
  absl::Duration reconnect_interval = absl::Seconds(1);
  // Encoded messages waiting for socket space. Past this the dataplane is not reading; the link
  // reconnects, which resynchronises everything through Hello. 64Ki installs is ~16 MiB.
  size_t max_queued_messages = 65536;
  // The reinstall sweep tops the queue up to this depth at a time, so reinstalling a large
  // registry streams out as the socket drains instead of being queued whole.
  size_t reinstall_batch = 256;
  // Datagrams read per OnEvents call, so a chatty dataplane cannot starve allocation.
  size_t max_reads_per_event = 1024;
};

// The socket path must fit sockaddr_un; errors name the path.
absl::Status ValidateSocketPath(const std::string& path);

// Not thread-safe: owned by the control loop's single thread, as is the registry it updates.
class DataplaneLink {
 public:
  enum class State { kDisconnected, kConnecting, kConnected, kSyncing, kReady };

  struct Stats {
    uint64_t connects = 0;
    uint64_t disconnects = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
    uint64_t undecodable = 0;  // truncated or failing ipc::Decode
    uint64_t unexpected = 0;   // decodable but not a dataplane -> control message
    uint64_t installs_refused = 0;
    uint64_t legs_bound = 0;
    uint64_t sessions_expired = 0;
    uint64_t unknown_vni = 0;  // LegBound/SessionExpired/InstallResult for no endpoint of ours
    uint64_t queue_overflows = 0;
    uint64_t syncs = 0;              // completed dump syncs after a Hello
    uint64_t sessions_restored = 0;  // taken from a dump into the registry
    uint64_t restore_failures = 0;   // in a dump but not restorable (conflict, bad keys)
    uint64_t peers_refused = 0;      // listener neither root nor our uid (SO_PEERCRED)
    uint64_t sessions_evicted = 0;   // ended by Evict
  };

  // Per-leg shared keys for a restored endpoint (X25519 with the server disco private key).
  using DeriveSharedFn =
      std::function<absl::StatusOr<std::array<SharedKey, 2>>(const KeyPair& sorted_keys)>;
  using DumpDoneFn = std::function<void(absl::StatusOr<std::vector<ipc::SessionRecord>>)>;

  // registry must outlive the link. Without derive_shared, sessions found only in the
  // dataplane's dump cannot be restored and are left to expire there.
  DataplaneLink(const DataplaneLinkConfig& config, const SessionParams& params, Registry* registry,
                DeriveSharedFn derive_shared = nullptr);
  ~DataplaneLink();

  DataplaneLink(const DataplaneLink&) = delete;
  DataplaneLink& operator=(const DataplaneLink&) = delete;

  // Poll integration: the fd (-1 while disconnected), the events to wait for, and the time by
  // which Tick must run even without events (InfiniteFuture when nothing is scheduled).
  int fd() const { return fd_.get(); }
  short poll_events() const;
  absl::Time next_deadline() const;

  // Attempts a connection when one is due.
  void Tick(absl::Time now);
  // Handles poll results for fd().
  void OnEvents(short revents, absl::Time now);

  // Sends the install for a newly allocated endpoint. Dropped while not ready: the Hello of the
  // next connection reinstalls every endpoint anyway.
  void InstallNew(const ipc::InstallSession& install, absl::Time now);

  // Ends a session at once (dprelayctl evict, reload --evict-removed): removes it from the
  // registry, which frees its VNI and keeps it from being reinstalled, and sends the dataplane
  // a RemoveSession, so that it stops forwarding. Until that message has left for a dataplane
  // in sync, the VNI and its keys are remembered: the sync after the next Hello ends the
  // session in the dataplane instead of restoring it into the registry. False if no endpoint
  // has that VNI.
  bool Evict(uint32_t vni, absl::Time now);
  // Evicted sessions whose RemoveSession has not left yet.
  size_t pending_evictions() const { return evicted_.size(); }

  // The endpoints control advertises besides the dataplane's own (static endpoints): the
  // dataplane binds no leg to them (ipc::Advertised). Sent once synced (when not empty) and
  // on every change; cheap to call with an unchanged list.
  void SetAdvertised(const std::vector<AddrPort>& addrs, absl::Time now);

  State state() const { return state_; }
  bool ready() const { return state_ == State::kReady; }
  // The dataplane's relay addresses; empty unless ready (connected and synced).
  const std::vector<AddrPort>& relay_addrs() const;
  // The whole session dump with per-leg counters, through as many pages as it takes; done
  // runs once, with Unavailable if the link is not ready or drops meanwhile. With only_vni,
  // one page starting there, narrowed to that VNI (empty if it is not live).
  void DumpSessions(DumpDoneFn done, absl::Time now, uint32_t only_vni = 0);
  size_t pending_dumps() const { return dumps_.size(); }
  // Asks for the dataplane's counters; done runs when the StatsReply arrives (replies come in
  // order). Nothing happens unless ready; pending requests are dropped on disconnect.
  using StatsDoneFn = std::function<void(const ipc::StatsReply&)>;
  void RequestStats(StatsDoneFn done, absl::Time now);
  bool reinstall_in_progress() const { return sweep_active_; }
  const Stats& stats() const { return stats_; }

 private:
  void Connect(absl::Time now);
  // Checks who listens (SO_PEERCRED) before anything is exchanged.
  void OnConnected(absl::Time now);
  void ConnectFailed(const std::string& why, absl::Time now);
  void Disconnect(const std::string& why, absl::Time now);
  void ReadAll(absl::Time now);
  void HandleMessage(const ipc::Message& msg, absl::Time now);
  void HandleHello(const ipc::Hello& hello, absl::Time now);
  void HandleDumpReply(const ipc::DumpReply& reply, absl::Time now);
  // Adds to *remove the VNIs of the page that were evicted while the link was down.
  void SyncPage(const ipc::DumpReply& reply, std::vector<uint32_t>* remove);
  void StartSweep(absl::Time now);
  void FailDumps(const std::string& why);
  // Encodes and queues; false if the link was dropped on overflow.
  bool Enqueue(const ipc::Message& msg, absl::Time now);
  // Moves queued messages to the socket and tops the queue up from the reinstall sweep.
  void Pump(absl::Time now);
  // Queues up to reinstall_batch more installs; ends the sweep after the last endpoint.
  void ContinueSweep(absl::Time now);

  // Immutable after construction.
  const DataplaneLinkConfig config_;
  const SessionParams params_;
  Registry* const registry_;
  const DeriveSharedFn derive_shared_;

  // Everything below: control loop thread only.
  net::UniqueFd fd_;
  State state_ = State::kDisconnected;
  absl::Time next_attempt_ = absl::InfinitePast();
  std::string last_failure_;  // last connect failure logged, to log once per state change
  std::vector<AddrPort> relay_addrs_;
  std::deque<std::vector<uint8_t>> out_queue_;
  bool sweep_active_ = false;
  std::vector<AddrPort> advertised_;
  bool advertised_sent_ = false;  // on this connection, since the last change
  uint32_t sweep_next_vni_ = 0;   // the sweep has queued every endpoint below this VNI
  uint64_t sweep_count_ = 0;
  std::vector<uint8_t> rx_buf_;
  Stats stats_;
  // The sync after Hello: its dump request id and the VNIs the dataplane already has.
  uint32_t next_request_id_ = 1;
  uint32_t sync_request_id_ = 0;
  absl::flat_hash_set<uint32_t> in_dataplane_;
  // Evicted endpoints (VNI -> keys) whose RemoveSession may not have reached the dataplane:
  // cleared once the send queue of a synced link has drained.
  absl::flat_hash_map<uint32_t, KeyPair> evicted_;
  struct PendingDump {
    DumpDoneFn done;
    std::vector<ipc::SessionRecord> records;
    uint32_t only_vni = 0;  // 0 = every session
  };
  absl::flat_hash_map<uint32_t, PendingDump> dumps_;
  std::deque<StatsDoneFn> stats_waiters_;
};

}  // namespace dprelay::control
