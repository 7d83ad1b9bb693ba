// One client leg of a relay endpoint over a kernel UDP socket: the Bind/Challenge/Answer
// handshake with the relay (PROTOCOL.md §4), disco Ping/Pong with the peer through the relay,
// and Geneve-framed data.
//
// Single-threaded: one thread owns a RelaySession and calls every method.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/udp_socket.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::client {

struct RelaySessionConfig {
  DiscoKeyPair self;
  DiscoKey peer;
  UdpRelayEndpoint endpoint;  // from the allocation
  // Bind is resent every bind_resend until a Challenge arrives, for at most bind_timeout.
  absl::Duration bind_timeout = absl::Seconds(10);
  absl::Duration bind_resend = absl::Seconds(1);
  // Pings remembered for RTT matching; the oldest is forgotten beyond this.
  size_t max_outstanding_pings = 1024;
  // Data and Pongs that arrive while a (re)bind is waiting for its Challenge are kept for
  // the next Receive() calls, up to this many; beyond it they are dropped and counted.
  size_t max_pending_events = 8192;
};

// Why a received datagram was not delivered. One list, so the names and the counter array
// cannot drift apart.
// not_geneve: too short, or header bits a client rejects; wrong_vni: another endpoint's VNI;
// not_from_relay: relayed packet from a source other than the relay address;
// unexpected_control: a Challenge not awaited or not valid; bad_disco: relayed disco that is
// not the peer's or does not open or parse; unexpected_disco: relayed disco other than
// Ping/Pong; unknown_pong: Pong for no outstanding Ping; other_protocol: relayed Geneve
// protocol other than 0x7A11/0x7A12; queue_full: the pending-event queue overflowed.
#define DPRELAY_CLIENT_IGNORE_REASONS(X)      \
  X(kNotGeneve, "not_geneve")                 \
  X(kWrongVni, "wrong_vni")                   \
  X(kNotFromRelay, "not_from_relay")          \
  X(kUnexpectedControl, "unexpected_control") \
  X(kBadDisco, "bad_disco")                   \
  X(kUnexpectedDisco, "unexpected_disco")     \
  X(kUnknownPong, "unknown_pong")             \
  X(kOtherProtocol, "other_protocol")         \
  X(kQueueFull, "queue_full")

enum class IgnoreReason : uint8_t {
#define DPRELAY_X(name, text) name,
  DPRELAY_CLIENT_IGNORE_REASONS(DPRELAY_X)
#undef DPRELAY_X
      kCount
};
const char* IgnoreReasonName(IgnoreReason reason);

struct SessionStats {
  uint64_t binds_sent = 0;
  uint64_t challenges_received = 0;
  uint64_t answers_sent = 0;
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t pings_received = 0;
  uint64_t pongs_sent = 0;
  uint64_t data_sent = 0;
  uint64_t data_received = 0;
  uint64_t send_errors = 0;
  std::array<uint64_t, static_cast<size_t>(IgnoreReason::kCount)> ignored{};

  uint64_t ignored_total() const;
  // Adds every counter of `other` (a bridge sums the sessions it has had).
  void Add(const SessionStats& other);
  // "binds=1 challenges=1 answers=1 pings_sent=.. ... ignored=0 (not_geneve=0 ...)".
  std::string Format() const;
};

struct SessionEvent {
  // kBound: a Challenge was answered (only from the non-blocking handshake, StartBind()).
  enum class Kind { kNone, kData, kPong, kBound };
  Kind kind = Kind::kNone;
  // kData: the payload after the Geneve header.
  std::vector<uint8_t> data;
  // kPong: the Pong's TxID, the time since its Ping was sent, and the relay address it
  // came through. kBound: the relay address.
  TxId tx_id{};
  absl::Duration rtt;
  AddrPort via;
};

// The same event without a copy: `data` points into the session's receive buffer and is
// valid until the next call on the session. For loops that must not allocate per packet.
struct SessionEventView {
  SessionEvent::Kind kind = SessionEvent::Kind::kNone;
  std::span<const uint8_t> data;
  TxId tx_id{};
  absl::Duration rtt;
  AddrPort via;
};

class RelaySession {
 public:
  // Precomputes the shared keys with the server and with the peer. The error names the key
  // that cannot be used.
  static absl::StatusOr<std::unique_ptr<RelaySession>> Create(RelaySessionConfig config,
                                                              UdpSocket socket);

  // Runs Bind -> Challenge -> Answer with a fresh generation: sends Bind to every endpoint
  // address the socket's family can reach (plus the current relay address, on a rebind)
  // every bind_resend, answers the first valid Challenge to its source, and from then on
  // uses that source as the relay address. The relay does not acknowledge the Answer, so
  // this returns once it is sent. DeadlineExceeded "no challenge from ..." after bind_timeout
  // (or `max_wait`, if shorter). Data and Pongs that arrive meanwhile are kept for Receive().
  absl::Status Bind(absl::Duration max_wait = absl::InfiniteDuration());
  // Same as Bind(): a new generation, e.g. after ReopenSocket().
  absl::Status Rebind(absl::Duration max_wait = absl::InfiniteDuration()) { return Bind(max_wait); }

  // The same handshake without blocking, for a caller that waits on other sockets too (the
  // WireGuard bridge). StartBind() takes a fresh generation and sends the first round of
  // Binds; ReceiveView()/Receive() answer the Challenge and return Kind::kBound; TickBind()
  // resends every bind_resend and, once bind_timeout (or `max_wait`) has passed, stops the
  // handshake and returns the DeadlineExceeded error Bind() would. While a rebind runs, the
  // old binding keeps carrying data (the relay keeps it until the new Answer). Bind() is
  // exactly these three in a loop.
  absl::Status StartBind(absl::Duration max_wait = absl::InfiniteDuration());
  absl::Status TickBind();
  bool binding() const { return awaiting_challenge_; }
  // How long until TickBind() has something to do; infinite when no handshake runs.
  absl::Duration TimeToBindTick() const;

  // Replaces the socket with one bound to `local` (e.g. another port, to move the leg).
  // The session is unbound until the next Rebind().
  absl::Status ReopenSocket(const AddrPort& local);

  bool bound() const { return bound_; }
  uint32_t vni() const { return config_.endpoint.vni; }
  uint32_t generation() const { return generation_; }
  const AddrPort& relay_addr() const { return relay_addr_; }
  const UdpSocket& socket() const { return socket_; }
  const DiscoKey& peer() const { return config_.peer; }
  const UdpRelayEndpoint& endpoint() const { return config_.endpoint; }
  const SessionStats& stats() const { return stats_; }
  // "203.0.113.5:40000:vni:7", as the reference client names a relay path.
  std::string PathName() const;

  // A disco Ping to the peer through the relay; returns its TxID.
  absl::StatusOr<TxId> SendPing();
  // Geneve{ctrl=0, 0x7A12, vni} + payload to the relay.
  absl::Status SendData(std::span<const uint8_t> payload);

  // Handles datagrams until one yields an event (data or a Pong) or `max_wait` passes
  // (then Kind::kNone). Pings from the peer are answered here and never returned.
  // Errors only when the socket fails.
  absl::StatusOr<SessionEvent> Receive(absl::Duration max_wait);
  // Receive() without copying the payload (see SessionEventView).
  absl::StatusOr<SessionEventView> ReceiveView(absl::Duration max_wait);

 private:
  using Clock = std::chrono::steady_clock;

  RelaySession(RelaySessionConfig config, UdpSocket socket, SharedKey server_shared,
               SharedKey peer_shared);

  // Classifies one datagram. While a handshake waits (awaiting_challenge_), a valid
  // Challenge sets *challenge_from and *challenge. Returns an event to deliver, if any; its
  // data points into `pkt`.
  std::optional<SessionEventView> HandleDatagram(std::span<const uint8_t> pkt, const AddrPort& from,
                                                 std::optional<AddrPort>* challenge_from,
                                                 Challenge* challenge);
  // Reads and handles at most one datagram, waiting up to `max_wait`; answers a Challenge
  // the handshake waits for (Kind::kBound). nullopt when nothing was delivered.
  absl::StatusOr<std::optional<SessionEventView>> ReadOne(absl::Duration max_wait);
  void SendBindRound();
  std::optional<SessionEventView> HandleRelayedDisco(std::span<const uint8_t> wrapper,
                                                     const AddrPort& from);
  void Ignore(IgnoreReason reason) { ++stats_.ignored[static_cast<size_t>(reason)]; }
  // Geneve header + sealed bind-family message, into send_buf_.
  std::span<const uint8_t> BuildHandshake(DiscoType type, const Challenge& challenge);
  std::span<const uint8_t> BuildRelayedDisco(const DiscoMessage& msg);
  absl::Status SendToRelay(std::span<const uint8_t> pkt);
  uint32_t NextGeneration();
  std::vector<AddrPort> BindTargets() const;

  const RelaySessionConfig config_;
  UdpSocket socket_;
  const SharedKey server_shared_;
  const SharedKey peer_shared_;

  uint32_t generation_ = 0;  // of the last handshake; 0 before the first
  bool awaiting_challenge_ = false;
  bool bound_ = false;
  AddrPort relay_addr_;  // the source of the last Challenge answered

  // The handshake in flight (awaiting_challenge_): where Binds go, when the next round is
  // due, when it gives up, and the last send error for its message.
  std::vector<AddrPort> bind_targets_;
  Clock::time_point next_bind_send_;
  Clock::time_point bind_deadline_;
  absl::Duration bind_wait_;
  absl::Status last_send_error_;

  std::map<TxId, Clock::time_point> outstanding_pings_;
  std::deque<SessionEvent> pending_;
  SessionEvent held_;  // the pending event a view last pointed into
  SessionStats stats_;
  std::vector<uint8_t> recv_buf_;
  std::vector<uint8_t> clear_buf_;
  std::vector<uint8_t> send_buf_;
};

}  // namespace dprelay::client
