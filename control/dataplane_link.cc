#include "control/dataplane_link.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/peer_cred.h"
#include "net/unix_socket.h"
#include "proto/key.h"
#include "proto/log.h"

namespace dprelay::control {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

std::string FormatAddrs(const std::vector<AddrPort>& addrs) {
  return absl::StrJoin(
      addrs, ",", [](std::string* out, const AddrPort& ap) { out->append(FormatAddrPort(ap)); });
}

std::string FormatLeg(const AddrPort& ap) { return ap.valid() ? FormatAddrPort(ap) : "-"; }

}  // namespace

absl::Status ValidateSocketPath(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("dataplane socket path is empty");
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unix socket path longer than ",
                                                   sizeof(sockaddr_un::sun_path) - 1, " bytes"));
  }
  return absl::OkStatus();
}

DataplaneLink::DataplaneLink(const DataplaneLinkConfig& config, const SessionParams& params,
                             Registry* registry, DeriveSharedFn derive_shared)
    : config_(config),
      params_(params),
      registry_(registry),
      derive_shared_(std::move(derive_shared)),
      rx_buf_(ipc::kMaxMessageLen) {}

const std::vector<AddrPort>& DataplaneLink::relay_addrs() const {
  static const std::vector<AddrPort> kNone;
  return state_ == State::kReady ? relay_addrs_ : kNone;
}

DataplaneLink::~DataplaneLink() = default;

short DataplaneLink::poll_events() const {
  switch (state_) {
    case State::kDisconnected:
      return 0;
    case State::kConnecting:
      return POLLOUT;
    case State::kConnected:
    case State::kSyncing:
    case State::kReady:
      return static_cast<short>(POLLIN | (out_queue_.empty() ? 0 : POLLOUT));
  }
  return 0;
}

absl::Time DataplaneLink::next_deadline() const {
  return state_ == State::kDisconnected ? next_attempt_ : absl::InfiniteFuture();
}

void DataplaneLink::Tick(absl::Time now) {
  if (state_ == State::kDisconnected && now >= next_attempt_) {
    Connect(now);
  }
}

void DataplaneLink::Connect(absl::Time now) {
  if (absl::Status s = ValidateSocketPath(config_.socket_path); !s.ok()) {
    ConnectFailed(std::string(s.message()), now);
    return;
  }
  absl::StatusOr<sockaddr_un> sa = net::UnixAddress(config_.socket_path, "--dataplane_socket");
  if (!sa.ok()) {
    ConnectFailed(std::string(sa.status().message()), now);
    return;
  }
  fd_.Reset(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) {
    ConnectFailed(absl::StrCat("socket: ", ErrnoText(errno)), now);
    return;
  }
  if (connect(fd_.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) == 0) {
    OnConnected(now);
    return;
  }
  int err = errno;
  if (err == EINPROGRESS || err == EAGAIN) {
    // Unix sockets normally connect at once; EAGAIN means the listener's backlog is full.
    state_ = State::kConnecting;
    return;
  }
  ConnectFailed(absl::StrCat("connect: ", ErrnoText(err)), now);
}

void DataplaneLink::ConnectFailed(const std::string& why, absl::Time now) {
  fd_.Reset();
  state_ = State::kDisconnected;
  next_attempt_ = now + config_.reconnect_interval;
  if (why != last_failure_) {
    DPRELAY_LOG_WARNING("dataplane %s: cannot connect: %s (retrying every %s)", config_.socket_path,
                        why, absl::FormatDuration(config_.reconnect_interval));
    last_failure_ = why;
  }
}

void DataplaneLink::OnConnected(absl::Time now) {
  // Whoever listens on the socket gets our sessions' keys and is trusted for what it reports:
  // it must be root or our own uid (the socket's directory could have been writable by others).
  if (absl::Status peer = net::CheckTrustedPeer(fd_.get()); !peer.ok()) {
    ++stats_.peers_refused;
    ConnectFailed(absl::StrCat("refusing the listener: ", peer.message()), now);
    return;
  }
  state_ = State::kConnected;
  last_failure_.clear();
  ++stats_.connects;
  DPRELAY_LOG_INFO("dataplane %s: connected, waiting for hello", config_.socket_path);
}

void DataplaneLink::Disconnect(const std::string& why, absl::Time now) {
  fd_.Reset();
  bool was_ready = state_ == State::kReady;
  state_ = State::kDisconnected;
  next_attempt_ = now + config_.reconnect_interval;
  relay_addrs_.clear();
  out_queue_.clear();
  sweep_active_ = false;
  in_dataplane_.clear();
  stats_waiters_.clear();
  advertised_sent_ = false;
  ++stats_.disconnects;
  FailDumps(why);
  DPRELAY_LOG_WARNING(
      "dataplane %s: disconnected (%s)%s; keeping %d sessions, reconnecting every %s",
      config_.socket_path, why, was_ready ? ", allocations paused" : "", registry_->size(),
      absl::FormatDuration(config_.reconnect_interval));
  // A failure of the next attempt is a new state change: log it.
  last_failure_.clear();
}

void DataplaneLink::OnEvents(short revents, absl::Time now) {
  if (!fd_.valid() || revents == 0) {
    return;
  }
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err != 0) {
      ConnectFailed(absl::StrCat("connect: ", ErrnoText(err)), now);
      return;
    }
    OnConnected(now);
    return;
  }
  if ((revents & POLLIN) != 0) {
    ReadAll(now);
    if (!fd_.valid()) {
      return;
    }
  }
  if ((revents & (POLLHUP | POLLERR)) != 0 && (revents & POLLIN) == 0) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    Disconnect(err != 0 ? ErrnoText(err) : "peer closed", now);
    return;
  }
  if ((revents & POLLOUT) != 0) {
    Pump(now);
  }
}

void DataplaneLink::ReadAll(absl::Time now) {
  for (size_t i = 0; i < config_.max_reads_per_event && fd_.valid(); ++i) {
    iovec iov{.iov_base = rx_buf_.data(), .iov_len = rx_buf_.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = recvmsg(fd_.get(), &mh, MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return;
      }
      Disconnect(absl::StrCat("recv: ", ErrnoText(err)), now);
      return;
    }
    if (n == 0) {
      Disconnect("peer closed", now);
      return;
    }
    ++stats_.messages_received;
    if ((mh.msg_flags & MSG_TRUNC) != 0) {
      ++stats_.undecodable;
      DPRELAY_LOG_WARNING("dataplane: dropped a message larger than %d bytes", ipc::kMaxMessageLen);
      continue;
    }
    absl::StatusOr<ipc::Message> msg =
        ipc::Decode(std::span<const uint8_t>(rx_buf_.data(), static_cast<size_t>(n)));
    if (!msg.ok()) {
      ++stats_.undecodable;
      DPRELAY_LOG_WARNING("dataplane: dropped an undecodable %d-byte message: %s", n,
                          msg.status().message());
      continue;
    }
    HandleMessage(*msg, now);
  }
}

void DataplaneLink::HandleMessage(const ipc::Message& msg, absl::Time now) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ipc::Hello>) {
          HandleHello(m, now);
        } else if constexpr (std::is_same_v<T, ipc::InstallResult>) {
          if (m.ok) {
            return;
          }
          ++stats_.installs_refused;
          bool known = registry_->Remove(m.vni);
          if (!known) {
            ++stats_.unknown_vni;
          }
          DPRELAY_LOG_ERROR("dataplane refused install vni=%d: %s%s", m.vni, m.error,
                            known ? "; endpoint removed" : " (no such endpoint)");
        } else if constexpr (std::is_same_v<T, ipc::LegBound>) {
          if (!registry_->RecordBound(m.vni, m.leg, m.addr)) {
            ++stats_.unknown_vni;
            DPRELAY_LOG_WARNING("dataplane: leg bound for unknown vni=%d leg=%d addr=%s", m.vni,
                                m.leg, FormatLeg(m.addr));
            return;
          }
          ++stats_.legs_bound;
          const Endpoint* ep = registry_->FindByVni(m.vni);
          DPRELAY_LOG_INFO("session bound vni=%d leg=%d key=%s addr=%s other=%s", m.vni, m.leg,
                           ShortDisco(ep->client_keys[m.leg]), FormatLeg(m.addr),
                           FormatLeg(ep->bound[1 - m.leg]));
        } else if constexpr (std::is_same_v<T, ipc::SessionExpired>) {
          const Endpoint* ep = registry_->FindByVni(m.vni);
          if (ep == nullptr) {
            ++stats_.unknown_vni;
            DPRELAY_LOG_WARNING("dataplane: expiry of unknown vni=%d", m.vni);
            return;
          }
          ++stats_.sessions_expired;
          DPRELAY_LOG_INFO("session expired vni=%d lamport=%d keys=%s,%s legs=%s,%s", m.vni,
                           ep->lamport_id, ShortDisco(ep->client_keys[0]),
                           ShortDisco(ep->client_keys[1]), FormatLeg(ep->bound[0]),
                           FormatLeg(ep->bound[1]));
          registry_->Remove(m.vni);
        } else if constexpr (std::is_same_v<T, ipc::DumpReply>) {
          HandleDumpReply(m, now);
        } else if constexpr (std::is_same_v<T, ipc::StatsReply>) {
          if (stats_waiters_.empty()) {
            ++stats_.unexpected;
            return;
          }
          StatsDoneFn done = std::move(stats_waiters_.front());
          stats_waiters_.pop_front();
          done(m);
        } else {
          ++stats_.unexpected;
          DPRELAY_LOG_WARNING("dataplane: unexpected message type %d",
                              static_cast<int>(msg.index()) + 1);
        }
      },
      msg);
}

void DataplaneLink::HandleHello(const ipc::Hello& hello, absl::Time now) {
  relay_addrs_ = hello.relay_addrs;
  registry_->SetCapacity(hello.capacity);
  // Endpoints the (smaller) table cannot hold would only be refused: drop them now.
  std::vector<uint32_t> too_big;
  registry_->ForEachFrom(registry_->capacity() + 1, [&](const Endpoint& ep) {
    too_big.push_back(ep.vni);
    return true;
  });
  if (!too_big.empty()) {
    DPRELAY_LOG_WARNING("dropping %d endpoints with VNIs %d..%d: above the dataplane's capacity %d",
                        too_big.size(), too_big.front(), too_big.back(), registry_->capacity());
  }
  for (uint32_t vni : too_big) {
    registry_->Remove(vni);
  }
  DPRELAY_LOG_INFO("dataplane hello: relay_addrs=[%s] capacity=%d; reading its sessions",
                   FormatAddrs(relay_addrs_), registry_->capacity());
  if (relay_addrs_.empty()) {
    DPRELAY_LOG_WARNING("dataplane advertises no relay addresses");
  }
  state_ = State::kSyncing;
  in_dataplane_.clear();
  sync_request_id_ = next_request_id_++;
  if (Enqueue(ipc::DumpRequest{.request_id = sync_request_id_, .from_vni = 0}, now)) {
    Pump(now);
  }
}

void DataplaneLink::HandleDumpReply(const ipc::DumpReply& reply, absl::Time now) {
  if (state_ == State::kSyncing && reply.request_id == sync_request_id_) {
    std::vector<uint32_t> remove;
    SyncPage(reply, &remove);
    for (uint32_t vni : remove) {
      DPRELAY_LOG_INFO("vni=%d was evicted while the dataplane was away: removing it there", vni);
      if (!Enqueue(ipc::RemoveSession{.vni = vni}, now)) {
        return;  // disconnected
      }
    }
    if (reply.next_vni != 0) {
      if (Enqueue(ipc::DumpRequest{.request_id = sync_request_id_, .from_vni = reply.next_vni},
                  now)) {
        Pump(now);
      }
      return;
    }
    ++stats_.syncs;
    StartSweep(now);
    return;
  }
  auto it = dumps_.find(reply.request_id);
  if (it == dumps_.end()) {
    ++stats_.unexpected;
    return;
  }
  const uint32_t only = it->second.only_vni;
  for (const ipc::SessionRecord& r : reply.sessions) {
    if (only == 0 || r.vni == only) {
      it->second.records.push_back(r);
    }
  }
  if (reply.next_vni != 0 && only == 0) {
    if (Enqueue(ipc::DumpRequest{.request_id = reply.request_id, .from_vni = reply.next_vni},
                now)) {
      Pump(now);
    }
    return;
  }
  PendingDump done = std::move(it->second);
  dumps_.erase(it);
  done.done(std::move(done.records));
}

void DataplaneLink::SyncPage(const ipc::DumpReply& reply, std::vector<uint32_t>* remove) {
  for (const ipc::SessionRecord& r : reply.sessions) {
    if (auto it = evicted_.find(r.vni); it != evicted_.end() && it->second == r.client_keys) {
      remove->push_back(r.vni);
      continue;
    }
    in_dataplane_.insert(r.vni);
    const Endpoint* known = registry_->FindByVni(r.vni);
    if (known != nullptr && known->client_keys == r.client_keys) {
      // The dataplane is the source of truth for where legs are bound.
      for (uint8_t leg = 0; leg < 2; ++leg) {
        if (r.bound[leg].valid()) {
          registry_->RecordBound(r.vni, leg, r.bound[leg]);
        }
      }
      continue;
    }
    // Sessions the dataplane forwards win over anything control remembers differently.
    if (known != nullptr) {
      DPRELAY_LOG_WARNING(
          "dataplane vni=%d has other keys than the registry; taking the dataplane's", r.vni);
      registry_->Remove(r.vni);
    }
    if (const Endpoint* same_pair = registry_->FindByPair(r.client_keys); same_pair != nullptr) {
      registry_->Remove(same_pair->vni);
    }
    absl::StatusOr<std::array<SharedKey, 2>> shared =
        derive_shared_ ? derive_shared_(r.client_keys)
                       : absl::StatusOr<std::array<SharedKey, 2>>(
                             absl::FailedPreconditionError("no key derivation"));
    absl::Status restored = shared.status();
    if (restored.ok()) {
      restored = registry_->Restore(Endpoint{
          .vni = r.vni,
          .lamport_id = r.lamport_id,
          .client_keys = r.client_keys,
          .shared = *shared,
          .allocated_at = absl::FromUnixNanos(r.allocated_at_unix_ns),
          .bound = r.bound,
          .source = IpAddr{},
      });
    }
    if (!restored.ok()) {
      ++stats_.restore_failures;
      DPRELAY_LOG_WARNING("dataplane vni=%d: cannot restore: %s", r.vni, restored.message());
      continue;
    }
    ++stats_.sessions_restored;
    DPRELAY_LOG_INFO("restored vni=%d lamport=%d keys=%s,%s legs=%s,%s from the dataplane", r.vni,
                     r.lamport_id, ShortDisco(r.client_keys[0]), ShortDisco(r.client_keys[1]),
                     FormatLeg(r.bound[0]), FormatLeg(r.bound[1]));
  }
}

void DataplaneLink::StartSweep(absl::Time now) {
  state_ = State::kReady;
  DPRELAY_LOG_INFO(
      "dataplane synced: it has %d sessions, registry %d; reinstalling the %d it lacks",
      in_dataplane_.size(), registry_->size(),
      registry_->size() >= in_dataplane_.size() ? registry_->size() - in_dataplane_.size() : 0);
  sweep_active_ = true;
  sweep_next_vni_ = 0;
  sweep_count_ = 0;
  // Before the installs, so that no reinstalled leg escapes it. A dataplane starts with none,
  // so an empty list needs no message (one that kept an older list from a previous control
  // keeps refusing legs at those addresses until the list changes: harmless).
  advertised_sent_ = advertised_.empty();
  SetAdvertised(advertised_, now);
  Pump(now);
}

void DataplaneLink::SetAdvertised(const std::vector<AddrPort>& addrs, absl::Time now) {
  if (addrs != advertised_) {
    advertised_ = addrs;
    advertised_sent_ = false;
  }
  if (state_ != State::kReady || advertised_sent_) {
    return;
  }
  advertised_sent_ = true;
  if (Enqueue(ipc::Advertised{.addrs = advertised_}, now)) {
    Pump(now);
  }
}

void DataplaneLink::DumpSessions(DumpDoneFn done, absl::Time now, uint32_t only_vni) {
  if (state_ != State::kReady) {
    done(absl::UnavailableError("the dataplane is not connected"));
    return;
  }
  const uint32_t id = next_request_id_++;
  dumps_.emplace(id, PendingDump{.done = std::move(done), .records = {}, .only_vni = only_vni});
  // A page starts at from_vni, so a live only_vni is the first record of the first page.
  if (Enqueue(ipc::DumpRequest{.request_id = id, .from_vni = only_vni}, now)) {
    Pump(now);
  }
}

void DataplaneLink::RequestStats(StatsDoneFn done, absl::Time now) {
  if (state_ != State::kReady) {
    return;
  }
  // One outstanding request is enough: a slow dataplane must not make the queue grow.
  if (!stats_waiters_.empty()) {
    return;
  }
  stats_waiters_.push_back(std::move(done));
  if (Enqueue(ipc::StatsRequest{}, now)) {
    Pump(now);
  }
}

void DataplaneLink::FailDumps(const std::string& why) {
  absl::flat_hash_map<uint32_t, PendingDump> failed;
  failed.swap(dumps_);
  for (auto& [id, pending] : failed) {
    pending.done(absl::UnavailableError(absl::StrCat("dataplane disconnected: ", why)));
  }
}

bool DataplaneLink::Evict(uint32_t vni, absl::Time now) {
  const Endpoint* ep = registry_->FindByVni(vni);
  if (ep == nullptr) {
    return false;
  }
  evicted_[vni] = ep->client_keys;
  registry_->Remove(vni);
  ++stats_.sessions_evicted;
  if (state_ == State::kSyncing || state_ == State::kReady) {
    if (Enqueue(ipc::RemoveSession{.vni = vni}, now)) {
      Pump(now);
    }
  }
  return true;
}

void DataplaneLink::InstallNew(const ipc::InstallSession& install, absl::Time now) {
  evicted_.erase(install.vni);  // the VNI is someone else's now
  if (state_ != State::kReady) {
    return;
  }
  if (sweep_active_ && install.vni >= sweep_next_vni_) {
    return;  // the sweep has not got there yet and will send it, with its bound legs
  }
  if (Enqueue(install, now)) {
    Pump(now);
  }
}

bool DataplaneLink::Enqueue(const ipc::Message& msg, absl::Time now) {
  if (out_queue_.size() >= config_.max_queued_messages) {
    ++stats_.queue_overflows;
    Disconnect(absl::StrCat("send queue full at ", out_queue_.size(), " messages"), now);
    return false;
  }
  out_queue_.push_back(ipc::Encode(msg));
  return true;
}

void DataplaneLink::Pump(absl::Time now) {
  while (fd_.valid()) {
    if (sweep_active_ && out_queue_.size() < config_.reinstall_batch) {
      ContinueSweep(now);
      if (!fd_.valid()) {
        return;
      }
    }
    if (out_queue_.empty()) {
      if (state_ == State::kReady) {
        evicted_.clear();  // every RemoveSession has left for a synced dataplane
      }
      return;
    }
    const std::vector<uint8_t>& front = out_queue_.front();
    ssize_t n = send(fd_.get(), front.data(), front.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        return;  // full: poll_events() now asks for POLLOUT
      }
      Disconnect(absl::StrCat("send: ", ErrnoText(err)), now);
      return;
    }
    out_queue_.pop_front();
    ++stats_.messages_sent;
  }
}

void DataplaneLink::ContinueSweep(absl::Time now) {
  bool more = false;
  bool overflow = false;
  registry_->ForEachFrom(sweep_next_vni_, [&](const Endpoint& ep) {
    if (out_queue_.size() >= config_.reinstall_batch) {
      more = true;
      return false;
    }
    if (in_dataplane_.contains(ep.vni)) {
      sweep_next_vni_ = ep.vni + 1;  // it has it already, maybe with newer legs
      return true;
    }
    if (!Enqueue(MakeInstallSession(ep, params_), now)) {
      overflow = true;
      return false;
    }
    sweep_next_vni_ = ep.vni + 1;
    ++sweep_count_;
    return true;
  });
  if (overflow || more) {
    return;
  }
  sweep_active_ = false;
  DPRELAY_LOG_INFO("dataplane: reinstalled %d sessions", sweep_count_);
}

}  // namespace dprelay::control
