#include "client/relay_session.h"

#include <sodium.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/geneve.h"

namespace dprelay::client {
namespace {

// Big enough for any UDP payload.
constexpr size_t kReceiveBufferLen = 65536;
// Geneve + sealed Bind/Challenge/Answer: 8 + 6 + 32 + 24 + 16 + 74 = 160 (PROTOCOL.md §3).
constexpr size_t kHandshakePacketLen = kGeneveHeaderLen + SealedDiscoLen(kBindMessageLen);
static_assert(kHandshakePacketLen == 160);
// The largest UDP payload over IPv4.
constexpr size_t kMaxUdpPayload = 65507;

absl::Duration Since(std::chrono::steady_clock::time_point t) {
  return absl::FromChrono(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t));
}

absl::Duration Until(std::chrono::steady_clock::time_point t) {
  auto left = t - std::chrono::steady_clock::now();
  if (left.count() < 0) {
    return absl::ZeroDuration();
  }
  return absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
}

// The client-side Geneve test of the reference (magicsock packetLooksLike), minus the
// protocol test that the caller does itself.
bool LooksLikeGeneve(std::span<const uint8_t> pkt) {
  return pkt.size() >= kGeneveHeaderLen && (pkt[0] & 0xC0) == 0 && (pkt[1] & 0x3F) == 0 &&
         pkt[7] == 0;
}

}  // namespace

const char* IgnoreReasonName(IgnoreReason reason) {
  switch (reason) {
#define DPRELAY_X(name, text) \
  case IgnoreReason::name:    \
    return text;
    DPRELAY_CLIENT_IGNORE_REASONS(DPRELAY_X)
#undef DPRELAY_X
    case IgnoreReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t SessionStats::ignored_total() const {
  uint64_t total = 0;
  for (uint64_t n : ignored) {
    total += n;
  }
  return total;
}

void SessionStats::Add(const SessionStats& other) {
  binds_sent += other.binds_sent;
  challenges_received += other.challenges_received;
  answers_sent += other.answers_sent;
  pings_sent += other.pings_sent;
  pongs_received += other.pongs_received;
  pings_received += other.pings_received;
  pongs_sent += other.pongs_sent;
  data_sent += other.data_sent;
  data_received += other.data_received;
  send_errors += other.send_errors;
  for (size_t i = 0; i < ignored.size(); ++i) {
    ignored[i] += other.ignored[i];
  }
}

std::string SessionStats::Format() const {
  std::string out = absl::StrCat(
      "binds=", binds_sent, " challenges=", challenges_received, " answers=", answers_sent,
      " pings_sent=", pings_sent, " pongs_received=", pongs_received,
      " pings_received=", pings_received, " pongs_sent=", pongs_sent, " data_sent=", data_sent,
      " data_received=", data_received, " send_errors=", send_errors, " ignored=", ignored_total());
  for (size_t i = 0; i < ignored.size(); ++i) {
    if (ignored[i] != 0) {
      absl::StrAppend(&out, " ignored_", IgnoreReasonName(static_cast<IgnoreReason>(i)), "=",
                      ignored[i]);
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RelaySession>> RelaySession::Create(RelaySessionConfig config,
                                                                   UdpSocket socket) {
  if (sodium_init() < 0) {
    return absl::InternalError("libsodium failed to initialise");
  }
  const UdpRelayEndpoint& ep = config.endpoint;
  if (ep.vni == 0 || ep.vni > kMaxVni) {
    return absl::InvalidArgumentError(absl::StrCat("endpoint VNI ", ep.vni, " is out of range"));
  }
  if (ep.addr_ports.empty()) {
    return absl::InvalidArgumentError("endpoint has no addresses");
  }
  if (!socket.is_open()) {
    return absl::InvalidArgumentError("socket is not open");
  }
  if (config.peer == config.self.pub) {
    return absl::InvalidArgumentError("peer key is this client's own key");
  }
  absl::StatusOr<SharedKey> server_shared = ComputeSharedKey(ep.server_disco, config.self.priv);
  if (!server_shared.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("server disco key ",
                                                   FormatDiscoKey(ep.server_disco), ": ",
                                                   server_shared.status().message()));
  }
  absl::StatusOr<SharedKey> peer_shared = ComputeSharedKey(config.peer, config.self.priv);
  if (!peer_shared.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("peer key ", FormatDiscoKey(config.peer), ": ",
                                                   peer_shared.status().message()));
  }
  return std::unique_ptr<RelaySession>(
      new RelaySession(std::move(config), std::move(socket), *server_shared, *peer_shared));
}

RelaySession::RelaySession(RelaySessionConfig config, UdpSocket socket, SharedKey server_shared,
                           SharedKey peer_shared)
    : config_(std::move(config)),
      socket_(std::move(socket)),
      server_shared_(server_shared),
      peer_shared_(peer_shared),
      recv_buf_(kReceiveBufferLen),
      clear_buf_(kReceiveBufferLen) {
  send_buf_.reserve(kReceiveBufferLen);
}

std::string RelaySession::PathName() const {
  return absl::StrCat(FormatAddrPort(relay_addr_), ":vni:", vni());
}

uint32_t RelaySession::NextGeneration() {
  ++generation_;
  if (generation_ == 0) {
    generation_ = 1;  // 0 means "none" to the relay
  }
  return generation_;
}

std::vector<AddrPort> RelaySession::BindTargets() const {
  std::vector<AddrPort> targets;
  auto add = [&](const AddrPort& ap) {
    if (socket_.CanReach(ap) && std::find(targets.begin(), targets.end(), ap) == targets.end()) {
      targets.push_back(ap);
    }
  };
  for (const AddrPort& ap : config_.endpoint.addr_ports) {
    add(ap);
  }
  // A relay seen behind a translator (e.g. a load balancer) may answer from an address it
  // does not advertise; keep binding there too.
  if (relay_addr_.valid()) {
    add(relay_addr_);
  }
  return targets;
}

std::span<const uint8_t> RelaySession::BuildHandshake(DiscoType type, const Challenge& challenge) {
  BindCommon common;
  common.vni = vni();
  common.generation = generation_;
  common.remote_key = config_.peer;
  common.challenge = challenge;
  std::array<uint8_t, kBindMessageLen> clear{};
  EncodeBindMessage(type, common, clear);

  send_buf_.assign(kHandshakePacketLen, 0);
  GeneveHeader geneve{
      .version = 0, .control = true, .protocol = kGeneveProtocolDisco, .vni = vni()};
  // Cannot fail: the VNI was range-checked in Create.
  (void)EncodeGeneve(geneve, std::span<uint8_t>(send_buf_.data(), kGeneveHeaderLen));
  SealDisco(server_shared_, config_.self.pub, clear,
            std::span<uint8_t>(send_buf_.data() + kGeneveHeaderLen,
                               kHandshakePacketLen - kGeneveHeaderLen));
  return send_buf_;
}

std::span<const uint8_t> RelaySession::BuildRelayedDisco(const DiscoMessage& msg) {
  const std::vector<uint8_t> clear = EncodeDisco(msg);
  const size_t len = kGeneveHeaderLen + SealedDiscoLen(clear.size());
  send_buf_.assign(len, 0);
  GeneveHeader geneve{
      .version = 0, .control = false, .protocol = kGeneveProtocolDisco, .vni = vni()};
  (void)EncodeGeneve(geneve, std::span<uint8_t>(send_buf_.data(), kGeneveHeaderLen));
  SealDisco(peer_shared_, config_.self.pub, clear,
            std::span<uint8_t>(send_buf_.data() + kGeneveHeaderLen, len - kGeneveHeaderLen));
  return send_buf_;
}

absl::Status RelaySession::SendToRelay(std::span<const uint8_t> pkt) {
  absl::Status s = socket_.SendTo(relay_addr_, pkt);
  if (!s.ok()) {
    ++stats_.send_errors;
  }
  return s;
}

absl::Status RelaySession::ReopenSocket(const AddrPort& local) {
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(local);
  if (!socket.ok()) {
    return socket.status();
  }
  socket_ = *std::move(socket);
  bound_ = false;
  return absl::OkStatus();
}

absl::Status RelaySession::StartBind(absl::Duration max_wait) {
  std::vector<AddrPort> targets = BindTargets();
  if (targets.empty()) {
    std::vector<std::string> all;
    for (const AddrPort& ap : config_.endpoint.addr_ports) {
      all.push_back(FormatAddrPort(ap));
    }
    return absl::InvalidArgumentError(absl::StrCat("no relay address (", absl::StrJoin(all, ","),
                                                   ") is reachable from local socket ",
                                                   FormatAddrPort(socket_.local())));
  }
  bind_targets_ = std::move(targets);
  NextGeneration();
  awaiting_challenge_ = true;
  bind_wait_ = std::min(config_.bind_timeout, max_wait);
  const Clock::time_point now = Clock::now();
  bind_deadline_ = now + absl::ToChronoNanoseconds(bind_wait_);
  next_bind_send_ = now;
  last_send_error_ = absl::OkStatus();
  return TickBind();
}

void RelaySession::SendBindRound() {
  const Challenge zero{};
  for (const AddrPort& target : bind_targets_) {
    // Sealed afresh for each send: a new nonce each time, as the reference client does.
    absl::Status s = socket_.SendTo(target, BuildHandshake(DiscoType::kBindUdpRelayEndpoint, zero));
    ++stats_.binds_sent;
    if (!s.ok()) {
      ++stats_.send_errors;
      last_send_error_ = s;
    }
  }
}

absl::Status RelaySession::TickBind() {
  if (!awaiting_challenge_) {
    return absl::OkStatus();
  }
  const Clock::time_point now = Clock::now();
  if (now >= bind_deadline_) {
    awaiting_challenge_ = false;
    std::vector<std::string> names;
    names.reserve(bind_targets_.size());
    for (const AddrPort& ap : bind_targets_) {
      names.push_back(FormatAddrPort(ap));
    }
    std::string detail;
    if (!last_send_error_.ok()) {
      detail = absl::StrCat("; last send error: ", last_send_error_.message());
    }
    return absl::DeadlineExceededError(
        absl::StrCat("no challenge from ", absl::StrJoin(names, ","), " after ",
                     absl::FormatDuration(bind_wait_), " (vni=", vni(), " generation=", generation_,
                     " local=", FormatAddrPort(socket_.local()), detail, ")"));
  }
  if (now >= next_bind_send_) {
    SendBindRound();
    next_bind_send_ += absl::ToChronoNanoseconds(config_.bind_resend);
  }
  return absl::OkStatus();
}

absl::Duration RelaySession::TimeToBindTick() const {
  if (!awaiting_challenge_) {
    return absl::InfiniteDuration();
  }
  return Until(std::min(bind_deadline_, next_bind_send_));
}

absl::Status RelaySession::Bind(absl::Duration max_wait) {
  if (absl::Status s = StartBind(max_wait); !s.ok()) {
    return s;
  }
  while (true) {
    absl::StatusOr<std::optional<SessionEventView>> got = ReadOne(TimeToBindTick());
    if (!got.ok()) {
      awaiting_challenge_ = false;
      return got.status();
    }
    if (got->has_value()) {
      const SessionEventView& view = **got;
      if (view.kind == SessionEvent::Kind::kBound) {
        return absl::OkStatus();
      }
      if (pending_.size() < config_.max_pending_events) {
        SessionEvent event;
        event.kind = view.kind;
        event.data.assign(view.data.begin(), view.data.end());
        event.tx_id = view.tx_id;
        event.rtt = view.rtt;
        event.via = view.via;
        pending_.push_back(std::move(event));
      } else {
        Ignore(IgnoreReason::kQueueFull);
      }
    }
    if (absl::Status s = TickBind(); !s.ok()) {
      return s;
    }
  }
}

absl::StatusOr<std::optional<SessionEventView>> RelaySession::ReadOne(absl::Duration max_wait) {
  AddrPort from;
  absl::StatusOr<std::optional<size_t>> got = socket_.ReceiveFrom(recv_buf_, &from, max_wait);
  if (!got.ok()) {
    return got.status();
  }
  if (!got->has_value()) {
    return std::optional<SessionEventView>();
  }
  std::optional<AddrPort> challenge_from;
  Challenge challenge{};
  std::optional<SessionEventView> event = HandleDatagram(
      std::span<const uint8_t>(recv_buf_.data(), **got), from, &challenge_from, &challenge);
  if (!challenge_from.has_value()) {
    return event;
  }
  absl::Status s = socket_.SendTo(
      *challenge_from, BuildHandshake(DiscoType::kBindUdpRelayEndpointAnswer, challenge));
  if (!s.ok()) {
    // Keep going: the next Bind round brings another Challenge.
    ++stats_.send_errors;
    last_send_error_ = s;
    return std::optional<SessionEventView>();
  }
  ++stats_.answers_sent;
  relay_addr_ = *challenge_from;
  bound_ = true;
  awaiting_challenge_ = false;
  SessionEventView bound;
  bound.kind = SessionEvent::Kind::kBound;
  bound.via = relay_addr_;
  return std::optional<SessionEventView>(bound);
}

std::optional<SessionEventView> RelaySession::HandleDatagram(
    std::span<const uint8_t> pkt, const AddrPort& from, std::optional<AddrPort>* challenge_from,
    Challenge* challenge) {
  if (!LooksLikeGeneve(pkt)) {
    Ignore(IgnoreReason::kNotGeneve);
    return std::nullopt;
  }
  if (GeneveVni(pkt.data()) != vni()) {
    Ignore(IgnoreReason::kWrongVni);
    return std::nullopt;
  }
  const uint16_t protocol = GeneveProtocol(pkt.data());
  const std::span<const uint8_t> body = pkt.subspan(kGeneveHeaderLen);

  if (GeneveIsControl(pkt.data())) {
    // Only a Challenge to the Bind in flight is of interest; it may come from any address.
    if (!awaiting_challenge_ || challenge_from == nullptr || protocol != kGeneveProtocolDisco ||
        !LooksLikeDiscoWrapper(body) || body.size() < kDiscoSealOverhead ||
        DiscoWrapperSender(body) != config_.endpoint.server_disco) {
      Ignore(IgnoreReason::kUnexpectedControl);
      return std::nullopt;
    }
    absl::StatusOr<size_t> clear_len = OpenDisco(server_shared_, body, clear_buf_);
    if (!clear_len.ok()) {
      Ignore(IgnoreReason::kUnexpectedControl);
      return std::nullopt;
    }
    absl::StatusOr<DiscoMessage> msg =
        ParseDisco(std::span<const uint8_t>(clear_buf_.data(), *clear_len));
    const auto* c = msg.ok() ? std::get_if<BindUdpRelayEndpointChallenge>(&*msg) : nullptr;
    if (c == nullptr || c->vni != vni() || c->generation != generation_ ||
        c->remote_key != config_.peer) {
      Ignore(IgnoreReason::kUnexpectedControl);
      return std::nullopt;
    }
    ++stats_.challenges_received;
    *challenge_from = from;
    *challenge = c->challenge;
    return std::nullopt;
  }

  if (!relay_addr_.valid() || from != relay_addr_) {
    Ignore(IgnoreReason::kNotFromRelay);
    return std::nullopt;
  }
  if (protocol == kGeneveProtocolWireGuard) {
    ++stats_.data_received;
    SessionEventView event;
    event.kind = SessionEvent::Kind::kData;
    event.data = body;
    event.via = from;
    return event;
  }
  if (protocol == kGeneveProtocolDisco) {
    return HandleRelayedDisco(body, from);
  }
  Ignore(IgnoreReason::kOtherProtocol);
  return std::nullopt;
}

std::optional<SessionEventView> RelaySession::HandleRelayedDisco(std::span<const uint8_t> wrapper,
                                                                 const AddrPort& from) {
  if (!LooksLikeDiscoWrapper(wrapper) || wrapper.size() < kDiscoSealOverhead ||
      DiscoWrapperSender(wrapper) != config_.peer) {
    Ignore(IgnoreReason::kBadDisco);
    return std::nullopt;
  }
  absl::StatusOr<size_t> clear_len = OpenDisco(peer_shared_, wrapper, clear_buf_);
  if (!clear_len.ok()) {
    Ignore(IgnoreReason::kBadDisco);
    return std::nullopt;
  }
  absl::StatusOr<DiscoMessage> msg =
      ParseDisco(std::span<const uint8_t>(clear_buf_.data(), *clear_len));
  if (!msg.ok()) {
    Ignore(IgnoreReason::kBadDisco);
    return std::nullopt;
  }
  if (const auto* ping = std::get_if<Ping>(&*msg)) {
    ++stats_.pings_received;
    Pong pong;
    pong.tx_id = ping->tx_id;
    pong.src = from;
    // The Pong goes back the way the Ping came: to the relay address it arrived from.
    if (socket_.SendTo(from, BuildRelayedDisco(DiscoMessage(pong))).ok()) {
      ++stats_.pongs_sent;
    } else {
      ++stats_.send_errors;
    }
    return std::nullopt;
  }
  if (const auto* pong = std::get_if<Pong>(&*msg)) {
    auto it = outstanding_pings_.find(pong->tx_id);
    if (it == outstanding_pings_.end()) {
      Ignore(IgnoreReason::kUnknownPong);
      return std::nullopt;
    }
    ++stats_.pongs_received;
    SessionEventView event;
    event.kind = SessionEvent::Kind::kPong;
    event.tx_id = pong->tx_id;
    event.rtt = Since(it->second);
    event.via = from;
    outstanding_pings_.erase(it);
    return event;
  }
  Ignore(IgnoreReason::kUnexpectedDisco);
  return std::nullopt;
}

absl::StatusOr<TxId> RelaySession::SendPing() {
  if (!bound_) {
    return absl::FailedPreconditionError("cannot ping the peer: not bound to the relay");
  }
  Ping ping;
  randombytes_buf(ping.tx_id.data(), ping.tx_id.size());
  ping.node_key = config_.self.pub;
  if (outstanding_pings_.size() >= config_.max_outstanding_pings) {
    auto oldest =
        std::min_element(outstanding_pings_.begin(), outstanding_pings_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    outstanding_pings_.erase(oldest);
  }
  const Clock::time_point sent_at = Clock::now();
  absl::Status s = SendToRelay(BuildRelayedDisco(DiscoMessage(ping)));
  if (!s.ok()) {
    return s;
  }
  outstanding_pings_[ping.tx_id] = sent_at;
  ++stats_.pings_sent;
  return ping.tx_id;
}

absl::Status RelaySession::SendData(std::span<const uint8_t> payload) {
  if (!bound_) {
    return absl::FailedPreconditionError("cannot send data: not bound to the relay");
  }
  if (payload.size() > kMaxUdpPayload - kGeneveHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", payload.size(), " bytes does not fit in a UDP datagram"));
  }
  send_buf_.assign(kGeneveHeaderLen, 0);
  GeneveHeader geneve{
      .version = 0, .control = false, .protocol = kGeneveProtocolWireGuard, .vni = vni()};
  (void)EncodeGeneve(geneve, std::span<uint8_t>(send_buf_.data(), kGeneveHeaderLen));
  send_buf_.insert(send_buf_.end(), payload.begin(), payload.end());
  absl::Status s = SendToRelay(send_buf_);
  if (s.ok()) {
    ++stats_.data_sent;
  }
  return s;
}

absl::StatusOr<SessionEventView> RelaySession::ReceiveView(absl::Duration max_wait) {
  if (!pending_.empty()) {
    held_ = std::move(pending_.front());
    pending_.pop_front();
    SessionEventView view;
    view.kind = held_.kind;
    view.data = held_.data;
    view.tx_id = held_.tx_id;
    view.rtt = held_.rtt;
    view.via = held_.via;
    return view;
  }
  const Clock::time_point deadline =
      Clock::now() + absl::ToChronoNanoseconds(std::max(max_wait, absl::ZeroDuration()));
  while (true) {
    absl::StatusOr<std::optional<SessionEventView>> got = ReadOne(Until(deadline));
    if (!got.ok()) {
      return got.status();
    }
    if (got->has_value()) {
      return **got;
    }
    if (Clock::now() >= deadline) {
      return SessionEventView{};
    }
  }
}

absl::StatusOr<SessionEvent> RelaySession::Receive(absl::Duration max_wait) {
  if (!pending_.empty()) {
    SessionEvent event = std::move(pending_.front());
    pending_.pop_front();
    return event;
  }
  absl::StatusOr<SessionEventView> view = ReceiveView(max_wait);
  if (!view.ok()) {
    return view.status();
  }
  SessionEvent event;
  event.kind = view->kind;
  event.data.assign(view->data.begin(), view->data.end());
  event.tx_id = view->tx_id;
  event.rtt = view->rtt;
  event.via = view->via;
  return event;
}

}  // namespace dprelay::client
