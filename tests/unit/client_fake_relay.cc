#include "client_fake_relay.h"

#include <poll.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <variant>

#include "proto/geneve.h"

namespace dprelay::client::testing {
namespace {

constexpr size_t kBufLen = 65536;

UdpSocket OpenLoopback() {
  absl::StatusOr<UdpSocket> s = UdpSocket::Open(*ParseAddrPort("127.0.0.1:0"));
  if (!s.ok()) {
    std::abort();
  }
  return *std::move(s);
}

std::vector<uint8_t> WithGeneve(bool control, uint32_t vni, std::span<const uint8_t> body) {
  std::vector<uint8_t> pkt(kGeneveHeaderLen);
  GeneveHeader h{.version = 0, .control = control, .protocol = kGeneveProtocolDisco, .vni = vni};
  if (!EncodeGeneve(h, std::span<uint8_t>(pkt.data(), kGeneveHeaderLen)).ok()) {
    std::abort();
  }
  pkt.insert(pkt.end(), body.begin(), body.end());
  return pkt;
}

}  // namespace

FakeRelay::FakeRelay(FakeRelayOptions options)
    : options_(std::move(options)),
      control_keys_(GenerateKeyPair()),
      server_keys_(GenerateKeyPair()),
      control_socket_(OpenLoopback()),
      relay_socket_(OpenLoopback()),
      control_addr_(control_socket_.local()),
      relay_addr_(relay_socket_.local()),
      vni_(options_.vni),
      lamport_id_(options_.lamport_id) {
  thread_ = std::thread([this] { Loop(); });
}

FakeRelay::~FakeRelay() {
  stop_ = true;
  thread_.join();
}

std::optional<AddrPort> FakeRelay::BoundAddr(const DiscoKey& client) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!legs_) {
    return std::nullopt;
  }
  for (const Leg& leg : *legs_) {
    if (leg.key == client) {
      return leg.bound;
    }
  }
  return std::nullopt;
}

void FakeRelay::ReplaceEndpoint(uint32_t vni, uint64_t lamport_id) {
  std::lock_guard<std::mutex> lock(mu_);
  vni_ = vni;
  lamport_id_ = lamport_id;
  if (legs_) {
    for (Leg& leg : *legs_) {
      leg.generation = 0;
      leg.bound.reset();
    }
  }
}

void FakeRelay::Loop() {
  std::vector<uint8_t> buf(kBufLen);
  while (!stop_) {
    pollfd fds[2] = {{.fd = control_socket_.fd(), .events = POLLIN, .revents = 0},
                     {.fd = relay_socket_.fd(), .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, 20) <= 0) {
      continue;
    }
    UdpSocket* sockets[2] = {&control_socket_, &relay_socket_};
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & POLLIN) == 0) {
        continue;
      }
      AddrPort from;
      absl::StatusOr<std::optional<size_t>> got =
          sockets[i]->ReceiveFrom(buf, &from, absl::ZeroDuration());
      if (!got.ok() || !got->has_value()) {
        continue;
      }
      std::span<const uint8_t> pkt(buf.data(), **got);
      if (i == 0) {
        HandleControl(pkt, from);
      } else {
        HandleRelay(pkt, from);
      }
    }
  }
}

void FakeRelay::HandleControl(std::span<const uint8_t> pkt, const AddrPort& from) {
  if (!LooksLikeDiscoWrapper(pkt)) {
    return;
  }
  const DiscoKey sender = DiscoWrapperSender(pkt);
  absl::StatusOr<SharedKey> shared = ComputeSharedKey(sender, control_keys_.priv);
  if (!shared.ok()) {
    return;
  }
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(*shared, pkt);
  if (!clear.ok()) {
    return;
  }
  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  if (!msg.ok()) {
    return;
  }
  const auto* req = std::get_if<AllocateUdpRelayEndpointRequest>(&*msg);
  if (req == nullptr) {
    return;
  }
  if (req->client_disco[0] != sender && req->client_disco[1] != sender) {
    return;
  }
  ++counters_.allocation_requests;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!allocation_nonces_.insert(DiscoWrapperNonce(pkt)).second) {
      ++counters_.allocation_nonce_reuses;
    }
  }
  if (!options_.answer_allocations) {
    return;
  }

  AllocateUdpRelayEndpointResponse resp;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dropped_requests_ < options_.drop_allocation_requests) {
      ++dropped_requests_;
      return;
    }
    if (!legs_) {
      legs_ = std::array<Leg, 2>{};
      for (int i = 0; i < 2; ++i) {
        (*legs_)[i].key = req->client_disco[i];
        absl::StatusOr<SharedKey> leg_shared =
            ComputeSharedKey(req->client_disco[i], server_keys_.priv);
        if (!leg_shared.ok()) {
          std::abort();
        }
        (*legs_)[i].shared = *leg_shared;
      }
    }
    resp.endpoint.lamport_id = lamport_id_;
    resp.endpoint.vni = vni_;
  }
  resp.generation = req->generation;
  resp.endpoint.server_disco = server_keys_.pub;
  resp.endpoint.client_disco = req->client_disco;
  resp.endpoint.bind_lifetime = absl::Seconds(30);
  resp.endpoint.steady_state_lifetime = absl::Minutes(5);
  resp.endpoint.addr_ports = options_.extra_addrs;
  resp.endpoint.addr_ports.push_back(relay_addr_);

  if (options_.send_wrong_generation_first) {
    AllocateUdpRelayEndpointResponse wrong = resp;
    wrong.generation = resp.generation + 1;
    (void)control_socket_.SendTo(
        from, SealDisco(*shared, control_keys_.pub, EncodeDisco(DiscoMessage(wrong))));
  }
  if (control_socket_
          .SendTo(from, SealDisco(*shared, control_keys_.pub, EncodeDisco(DiscoMessage(resp))))
          .ok()) {
    ++counters_.allocation_responses;
  }
}

void FakeRelay::HandleRelay(std::span<const uint8_t> pkt, const AddrPort& from) {
  uint32_t vni;
  {
    std::lock_guard<std::mutex> lock(mu_);
    vni = vni_;
  }
  absl::StatusOr<GeneveHeader> geneve = DecodeGeneve(pkt);
  if (!geneve.ok() || geneve->vni != vni) {
    ++counters_.dropped_other;
    return;
  }
  if (geneve->control) {
    if (geneve->protocol == kGeneveProtocolDisco) {
      HandleHandshake(pkt.subspan(kGeneveHeaderLen), from);
    } else {
      ++counters_.dropped_other;
    }
    return;
  }
  std::optional<AddrPort> to;
  bool corrupt = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (legs_ && (*legs_)[0].bound && (*legs_)[1].bound) {
      for (int i = 0; i < 2; ++i) {
        if (*(*legs_)[i].bound == from) {
          to = *(*legs_)[1 - i].bound;
        }
      }
    }
    if (to && geneve->protocol == kGeneveProtocolWireGuard) {
      ++data_seen_;
      corrupt = data_seen_ == options_.corrupt_nth_data;
    }
  }
  if (!to) {
    ++counters_.dropped_unbound;
    return;
  }
  std::vector<uint8_t> copy(pkt.begin(), pkt.end());
  // Past the Geneve header and the 8-byte sequence number: only the pattern is damaged.
  if (corrupt && copy.size() > kGeneveHeaderLen + 12) {
    copy[kGeneveHeaderLen + 12] ^= 0x5a;
  }
  // Counted before the send, so that a test reading the counter after a bridge received the
  // datagram sees it counted.
  ++counters_.forwarded;
  if (!relay_socket_.SendTo(*to, copy).ok()) {
    --counters_.forwarded;
  }
}

void FakeRelay::HandleHandshake(std::span<const uint8_t> body, const AddrPort& from) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!legs_ || !LooksLikeDiscoWrapper(body)) {
    ++counters_.dropped_other;
    return;
  }
  const DiscoKey sender = DiscoWrapperSender(body);
  int i = (*legs_)[0].key == sender ? 0 : (*legs_)[1].key == sender ? 1 : -1;
  if (i < 0) {
    ++counters_.dropped_other;
    return;
  }
  Leg& leg = (*legs_)[i];
  const Leg& other = (*legs_)[1 - i];
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(leg.shared, body);
  if (!clear.ok()) {
    ++counters_.dropped_other;
    return;
  }
  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  if (!msg.ok()) {
    ++counters_.dropped_other;
    return;
  }
  if (const auto* bind = std::get_if<BindUdpRelayEndpoint>(&*msg)) {
    ++counters_.binds;
    if (bind->vni != vni_ || bind->remote_key != other.key || bind->generation == 0 ||
        bind->challenge != Challenge{}) {
      ++counters_.dropped_other;
      return;
    }
    if (!options_.answer_binds) {
      return;
    }
    leg.generation = bind->generation;
    randombytes_buf(leg.challenge.data(), leg.challenge.size());
    leg.challenged = from;
    BindCommon c;
    c.vni = vni_;
    c.generation = bind->generation;
    c.remote_key = other.key;
    c.challenge = leg.challenge;
    std::array<uint8_t, kBindMessageLen> inner{};
    EncodeBindMessage(DiscoType::kBindUdpRelayEndpointChallenge, c, inner);
    std::vector<uint8_t> pkt =
        WithGeneve(true, vni_, SealDisco(leg.shared, server_keys_.pub, inner));
    if (relay_socket_.SendTo(from, pkt).ok()) {
      ++counters_.challenges;
    }
    return;
  }
  if (const auto* answer = std::get_if<BindUdpRelayEndpointAnswer>(&*msg)) {
    if (leg.generation != 0 && answer->generation == leg.generation && answer->vni == vni_ &&
        answer->remote_key == other.key && answer->challenge == leg.challenge &&
        from == leg.challenged) {
      leg.bound = from;
      leg.generation = 0;
      ++counters_.answers_matched;
    } else {
      ++counters_.answers_mismatched;
    }
    return;
  }
  ++counters_.dropped_other;
}

}  // namespace dprelay::client::testing
