#include "client/wg_bridge.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/allocate.h"
#include "client/udp_socket.h"
#include "proto/geneve.h"
#include "proto/log.h"

namespace dprelay::client {
namespace {

using Clock = std::chrono::steady_clock;

// Datagrams taken from one socket per wake-up before the other is looked at, so that a
// flood on one side cannot starve the other or the timers.
constexpr int kBurst = 64;
// The longest sleep: a stop or move request that races the poll is seen within this.
constexpr absl::Duration kMaxSleep = absl::Milliseconds(200);
// WireGuard datagrams are at most MTU-sized, but take anything UDP carries: it leaves
// room for the Geneve header below the 65507-byte IPv4 limit.
constexpr size_t kWgBufferLen = 65507 - kGeneveHeaderLen;

bool SameEndpoint(const UdpRelayEndpoint& a, const UdpRelayEndpoint& b) {
  return a.vni == b.vni && a.lamport_id == b.lamport_id && a.server_disco == b.server_disco;
}

absl::Duration FromClock(Clock::duration d) {
  return absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}

class Bridge {
 public:
  Bridge(const WgBridgeConfig& config, const LineSink& out, const WgBridgeControl& control)
      : config_(config),
        out_(out),
        control_(control),
        monitor_(config.path),
        wg_peer_(config.wg_endpoint),
        wg_buf_(kWgBufferLen) {}

  absl::StatusOr<WgBridgeStats> Run();

 private:
  bool Stopping() const {
    return control_.stop != nullptr && control_.stop->load(std::memory_order_relaxed);
  }
  // Cancelled when a stop request ended it.
  absl::StatusOr<UdpRelayEndpoint> AllocateEndpoint();
  // A session for `endpoint` on a socket bound to `local`, with its handshake started. It
  // replaces the current session, which is destroyed first (so that `local` may be its
  // port): `local` is taken by value because a caller's reference into the old session
  // would dangle. On error there is no session.
  absl::Status StartSession(const UdpRelayEndpoint& endpoint, AddrPort local);
  // After a dead path or a handshake that got no Challenge: ask for the endpoint again (it
  // may have expired, or the peer may have a newer one) and run the handshake, on a new
  // session if the endpoint changed. Errors only when the new session could not be set up,
  // which leaves the bridge without one.
  absl::Status Recover(RebindReason reason);
  void StartRebind(RebindReason reason);
  AddrPort LocalTowardRelay() const {
    return session_->socket().LocalAddrToward(session_->relay_addr());
  }
  // Errors only when the bridge is left without a session (see Recover).
  absl::Status OnTimers();
  absl::Status DrainRelay();
  absl::Status DrainWireGuard();

  const WgBridgeConfig& config_;
  const LineSink& out_;
  const WgBridgeControl control_;
  PathMonitor monitor_;
  std::optional<AddrPort> wg_peer_;
  UdpSocket wg_socket_;
  std::unique_ptr<RelaySession> session_;
  // Why the handshake in flight runs; nullopt for a session's first.
  std::optional<RebindReason> rebind_reason_;
  WgBridgeStats stats_;
  std::vector<uint8_t> wg_buf_;
};

absl::StatusOr<UdpRelayEndpoint> Bridge::AllocateEndpoint() {
  // A socket of its own, so that WireGuard traffic queued on the relay-facing one is not
  // read (and dropped) by the allocation's receive loop.
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(AddrPort{config_.local.ip, 0});
  if (!socket.ok()) {
    return socket.status();
  }
  AllocateConfig alloc;
  alloc.self = config_.self;
  alloc.peer = config_.peer;
  alloc.control = config_.control;
  alloc.control_key = config_.control_key;
  alloc.timeout = config_.allocate_timeout;
  alloc.resend_after = config_.allocate_resend;
  alloc.stop = control_.stop;
  absl::StatusOr<UdpRelayEndpoint> endpoint = Allocate(alloc, *socket);
  if (endpoint.ok()) {
    ++stats_.allocations;
  }
  return endpoint;
}

absl::Status Bridge::StartSession(const UdpRelayEndpoint& endpoint, AddrPort local) {
  if (session_ != nullptr) {
    stats_.session.Add(session_->stats());
    session_.reset();  // closes the old socket, so that `local` may be its port
  }
  monitor_.OnUnbound();
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(local);
  if (!socket.ok()) {
    return socket.status();
  }
  RelaySessionConfig session_config;
  session_config.self = config_.self;
  session_config.peer = config_.peer;
  session_config.endpoint = endpoint;
  session_config.bind_timeout = config_.bind_timeout;
  session_config.bind_resend = config_.bind_resend;
  absl::StatusOr<std::unique_ptr<RelaySession>> created =
      RelaySession::Create(std::move(session_config), *std::move(socket));
  if (!created.ok()) {
    return created.status();
  }
  session_ = *std::move(created);
  rebind_reason_.reset();
  return session_->StartBind();
}

void Bridge::StartRebind(RebindReason reason) {
  ++stats_.rebinds[static_cast<size_t>(reason)];
  monitor_.OnUnbound();
  rebind_reason_ = reason;
  if (absl::Status s = session_->StartBind(); !s.ok()) {
    DPRELAY_LOG_WARNING("rebind (%s): %s", RebindReasonName(reason), s.message());
  }
}

absl::Status Bridge::Recover(RebindReason reason) {
  absl::StatusOr<UdpRelayEndpoint> endpoint = AllocateEndpoint();
  if (!endpoint.ok() && Stopping()) {
    return absl::OkStatus();  // the loop ends at its next test of the stop flag
  }
  if (!endpoint.ok()) {
    // Control may be restarting; the handshake below still refreshes a live endpoint, and
    // the next dead path or timeout asks again.
    DPRELAY_LOG_WARNING("allocation after %s: %s", RebindReasonName(reason),
                        endpoint.status().message());
  } else if (!SameEndpoint(*endpoint, session_->endpoint())) {
    out_(FormatAllocation(*endpoint));
    ++stats_.rebinds[static_cast<size_t>(RebindReason::kEndpointChanged)];
    // The port the old session had, so that the relay-facing address stays the same (a
    // firewall or NAT mapping, an NLB's static address): a copy, since the old session and
    // its socket are gone before the new socket is opened.
    const AddrPort local = session_->socket().local();
    if (absl::Status s = StartSession(*endpoint, local); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("new session for vni ", endpoint->vni, " on ",
                                                 FormatAddrPort(local), ": ", s.message()));
    }
    rebind_reason_ = RebindReason::kEndpointChanged;
    return absl::OkStatus();
  }
  StartRebind(reason);
  return absl::OkStatus();
}

absl::Status Bridge::OnTimers() {
  if (control_.move != nullptr && control_.move->exchange(false)) {
    const AddrPort old_local = session_->socket().local();
    if (absl::Status s = session_->ReopenSocket(AddrPort{old_local.ip, 0}); !s.ok()) {
      DPRELAY_LOG_WARNING("move from %s: %s", FormatAddrPort(old_local), s.message());
    } else {
      ++stats_.moves;
      DPRELAY_LOG_INFO("moved the relay-facing socket from %s to %s", FormatAddrPort(old_local),
                       FormatAddrPort(session_->socket().local()));
    }
  }
  if (session_->binding()) {
    absl::Status s = session_->TickBind();
    if (!s.ok()) {
      DPRELAY_LOG_WARNING("%s", s.message());
      return Recover(RebindReason::kBindTimeout);
    }
    return absl::OkStatus();
  }
  const PathMonitor::Decision decision =
      monitor_.Next(Clock::now(), [this] { return LocalTowardRelay(); });
  switch (decision.action) {
    case PathMonitor::Action::kNone:
      break;
    case PathMonitor::Action::kPing:
      // A failed send is counted in the session stats; the next ping retries.
      (void)session_->SendPing();
      break;
    case PathMonitor::Action::kRebind:
      if (decision.reason == RebindReason::kPathDead) {
        DPRELAY_LOG_INFO("no pong through %s for %s; allocating and binding again",
                         session_->PathName(), absl::FormatDuration(config_.path.dead_after));
        return Recover(decision.reason);
      }
      StartRebind(decision.reason);
      break;
  }
  return absl::OkStatus();
}

absl::Status Bridge::DrainRelay() {
  for (int i = 0; i < kBurst; ++i) {
    absl::StatusOr<SessionEventView> event = session_->ReceiveView(absl::ZeroDuration());
    if (!event.ok()) {
      return event.status();
    }
    switch (event->kind) {
      case SessionEvent::Kind::kNone:
        return absl::OkStatus();
      case SessionEvent::Kind::kData:
        ++stats_.from_relay;
        if (!wg_peer_.has_value()) {
          ++stats_.dropped_no_wg_endpoint;
          break;
        }
        if (wg_socket_.SendTo(*wg_peer_, event->data).ok()) {
          ++stats_.to_wg;
          stats_.to_wg_bytes += event->data.size();
        } else {
          ++stats_.send_errors;
        }
        break;
      case SessionEvent::Kind::kPong:
        if (!monitor_.answered()) {
          out_(absl::StrCat("pong from ", ShortDisco(config_.peer), " via ", session_->PathName(),
                            " rtt=", absl::ToInt64Microseconds(event->rtt), "us"));
        }
        monitor_.OnPong(Clock::now());
        break;
      case SessionEvent::Kind::kBound: {
        ++stats_.handshakes;
        const AddrPort local = LocalTowardRelay();
        monitor_.OnBound(Clock::now(), local);
        std::string line =
            absl::StrCat(rebind_reason_.has_value() ? "rebound" : "bound", " vni=", session_->vni(),
                         " relay=", FormatAddrPort(session_->relay_addr()),
                         " local=", FormatAddrPort(local), " generation=", session_->generation());
        if (rebind_reason_.has_value()) {
          absl::StrAppend(&line, " reason=", RebindReasonName(*rebind_reason_));
        }
        out_(line);
        break;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Bridge::DrainWireGuard() {
  for (int i = 0; i < kBurst; ++i) {
    AddrPort from;
    absl::StatusOr<std::optional<size_t>> got =
        wg_socket_.ReceiveFrom(wg_buf_, &from, absl::ZeroDuration());
    if (!got.ok()) {
      return got.status();
    }
    if (!got->has_value()) {
      return absl::OkStatus();
    }
    if (!wg_peer_.has_value()) {
      wg_peer_ = from;
      out_(absl::StrCat("wg endpoint=", FormatAddrPort(from)));
    } else if (from != *wg_peer_) {
      ++stats_.dropped_foreign;
      continue;
    }
    ++stats_.wg_received;
    // While a rebind runs the old binding still carries data; only before the first
    // handshake (or right after a move, whose old socket is gone) is there no way out.
    if (!session_->bound()) {
      ++stats_.dropped_unbound;
      continue;
    }
    const std::span<const uint8_t> datagram(wg_buf_.data(), **got);
    if (session_->SendData(datagram).ok()) {
      ++stats_.to_relay;
      stats_.to_relay_bytes += datagram.size();
    } else {
      ++stats_.send_errors;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WgBridgeStats> Bridge::Run() {
  absl::StatusOr<UdpSocket> wg_socket = UdpSocket::Open(config_.wg_listen);
  if (!wg_socket.ok()) {
    return wg_socket.status();
  }
  wg_socket_ = *std::move(wg_socket);
  out_(absl::StrCat("wg listen=", FormatAddrPort(wg_socket_.local()),
                    " endpoint=", wg_peer_.has_value() ? FormatAddrPort(*wg_peer_) : "learn"));

  absl::StatusOr<UdpRelayEndpoint> endpoint = AllocateEndpoint();
  if (!endpoint.ok() && Stopping()) {
    return stats_;  // stopped before there was anything to bridge: nothing counted
  }
  if (!endpoint.ok()) {
    return endpoint.status();
  }
  out_(FormatAllocation(*endpoint));
  if (absl::Status s = StartSession(*endpoint, config_.local); !s.ok()) {
    return s;
  }

  while (!Stopping()) {
    if (absl::Status s = OnTimers(); !s.ok()) {
      return s;
    }
    const Clock::time_point now = Clock::now();
    absl::Duration sleep = std::min(kMaxSleep, session_->TimeToBindTick());
    if (monitor_.bound()) {
      sleep = std::min(sleep, FromClock(monitor_.NextWake() - now));
    }
    bool wg_ready = false;
    bool relay_ready = false;
    if (absl::Status s =
            WaitReadable(wg_socket_, session_->socket(), std::max(sleep, absl::ZeroDuration()),
                         &wg_ready, &relay_ready);
        !s.ok()) {
      return s;
    }
    if (relay_ready) {
      if (absl::Status s = DrainRelay(); !s.ok()) {
        return s;
      }
    }
    if (wg_ready) {
      if (absl::Status s = DrainWireGuard(); !s.ok()) {
        return s;
      }
    }
  }
  stats_.session.Add(session_->stats());
  DPRELAY_LOG_INFO("session %s", stats_.session.Format());
  return stats_;
}

}  // namespace

uint64_t WgBridgeStats::relayed_sent() const {
  return session.data_sent + session.pings_sent + session.pongs_sent;
}

uint64_t WgBridgeStats::relayed_received() const {
  return session.data_received + session.pings_received + session.pongs_received;
}

std::string WgBridgeStats::Format() const {
  std::string out = absl::StrCat(
      "wg_received=", wg_received, " to_relay=", to_relay, " to_relay_bytes=", to_relay_bytes,
      " from_relay=", from_relay, " to_wg=", to_wg, " to_wg_bytes=", to_wg_bytes,
      " dropped_unbound=", dropped_unbound, " dropped_no_wg_endpoint=", dropped_no_wg_endpoint,
      " dropped_foreign=", dropped_foreign, " send_errors=", send_errors,
      " allocations=", allocations, " handshakes=", handshakes, " moves=", moves);
  for (size_t i = 0; i < rebinds.size(); ++i) {
    absl::StrAppend(&out, " rebinds_", RebindReasonName(static_cast<RebindReason>(i)), "=",
                    rebinds[i]);
  }
  absl::StrAppend(&out, " relayed_sent=", relayed_sent(), " relayed_received=", relayed_received());
  return out;
}

absl::StatusOr<WgBridgeStats> RunWgBridge(const WgBridgeConfig& config, const LineSink& out,
                                          const WgBridgeControl& control) {
  Bridge bridge(config, out, control);
  return bridge.Run();
}

}  // namespace dprelay::client
