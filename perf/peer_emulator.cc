#include "perf/peer_emulator.h"

#include <arpa/inet.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <time.h>

#include <cstring>
#include <variant>

#include "dataplane/packet_headers.h"
#include "proto/clock.h"
#include "proto/disco.h"
#include "proto/geneve.h"
#include "tests/testutil/packet_builder.h"

namespace dprelay::perf {
namespace {

constexpr uint32_t kClientBase = 0x64400000;  // 100.64.0.0/10: room for 2^22 client addresses
constexpr uint8_t kGatewayMac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe};
constexpr unsigned kBatch = 32;
constexpr uint32_t kHandshakeBatch = 256;  // sessions per handshake round (512 legs in flight)

DiscoKeyPair KeyFromByte(uint8_t b) {
  DiscoPrivateKey p;
  p.bytes.fill(b);
  return KeyPairFromPrivate(p);
}

}  // namespace

PeerEmulator::PeerEmulator(const EmulatorConfig& config, rte_ring* to_relay, rte_ring* from_relay,
                           rte_mempool* pool)
    : config_(config), to_relay_(to_relay), from_relay_(from_relay), pool_(pool) {
  // One key pair per side for every session: the relay's work per handshake is the same, and
  // the emulator avoids millions of X25519 operations.
  DiscoKeyPair a = KeyFromByte(0x11), b = KeyFromByte(0x22);
  std::array<DiscoKey, 2> sorted = SortedPair(a.pub, b.pub);
  keys_[0] = sorted[0] == a.pub ? a : b;
  keys_[1] = sorted[0] == a.pub ? b : a;
  server_ = KeyFromByte(0x33);
  for (int i = 0; i < 2; ++i) {
    client_shared_[i] = *ComputeSharedKey(server_.pub, keys_[i].priv);
  }
}

uint32_t PeerEmulator::ClientIp(uint32_t vni, int leg) const {
  return htonl(kClientBase + vni * 2 + static_cast<uint32_t>(leg));
}

std::vector<uint8_t> PeerEmulator::Frame(uint32_t vni, int leg, const uint8_t* payload,
                                         size_t len) const {
  testing::Frame f;
  std::memcpy(f.src_mac, kGatewayMac, 6);
  std::memcpy(f.dst_mac, config_.relay_mac, 6);
  f.src_ip = ntohl(ClientIp(vni, leg));
  f.dst_ip = ntohl(config_.relay_ip_be);
  f.src_port = ClientPort(leg);
  f.dst_port = ntohs(config_.relay_port_be);
  f.payload.assign(payload, payload + len);
  return f.Build();
}

void PeerEmulator::AnnounceGateway() {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  auto* p = m == nullptr ? nullptr : reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 42));
  if (p == nullptr) {
    return;
  }
  std::memset(p, 0, 42);
  std::memset(p, 0xff, 6);
  std::memcpy(p + 6, kGatewayMac, 6);
  p[12] = 0x08, p[13] = 0x06, p[15] = 1, p[16] = 0x08, p[18] = 6, p[19] = 4, p[21] = 1;
  std::memcpy(p + 22, kGatewayMac, 6);
  std::memcpy(p + 28, &config_.gateway_ip_be, 4);
  std::memcpy(p + 38, &config_.relay_ip_be, 4);
  rte_ring_enqueue(to_relay_, m);
}

ipc::InstallSession PeerEmulator::InstallTemplate() const {
  ipc::InstallSession install;
  install.client_keys = {keys_[0].pub, keys_[1].pub};
  for (int i = 0; i < 2; ++i) {
    install.shared[i] = *ComputeSharedKey(keys_[i].pub, server_.priv);
  }
  install.server_key = server_.pub;
  // Long enough that sessions installed up front for later rounds are still there to bind.
  install.bind_lifetime_ns = 3600ll * 1'000'000'000;
  install.steady_state_lifetime_ns = 3600ll * 1'000'000'000;
  return install;
}

bool PeerEmulator::Install(MainLcore& main, uint32_t first, uint32_t last, bool handshake) {
  ipc::InstallSession install = InstallTemplate();
  const uint64_t now_ns = MonotonicNs();  // the clock the main lcore expires sessions by
  for (uint32_t vni = first; vni <= last; ++vni) {
    install.vni = vni;
    for (int leg = 0; leg < 2; ++leg) {
      install.bound[leg] = handshake
                               ? AddrPort{}
                               : AddrPort{IpAddr::V4FromBe(ClientIp(vni, leg)), ClientPort(leg)};
    }
    if (!main.sessions().Install(install, now_ns).ok()) {
      return false;
    }
  }
  return true;
}

bool PeerEmulator::SendBindMessage(uint32_t vni, int leg, DiscoType type, const Challenge& ch) {
  uint8_t clear[kBindMessageLen];
  EncodeBindMessage(type, BindCommon{vni, 1, keys_[1 - leg].pub, ch},
                    std::span<uint8_t, kBindMessageLen>(clear));
  uint8_t payload[kGeneveHeaderLen + SealedDiscoLen(kBindMessageLen)];
  (void)EncodeGeneve({.control = true, .protocol = kGeneveProtocolDisco, .vni = vni},
                     std::span<uint8_t>(payload, kGeneveHeaderLen));
  SealDisco(client_shared_[leg], keys_[leg].pub, clear,
            std::span<uint8_t>(payload + kGeneveHeaderLen, sizeof(payload) - kGeneveHeaderLen));
  std::vector<uint8_t> f = Frame(vni, leg, payload, sizeof(payload));
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    return false;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  if (rte_ring_enqueue(to_relay_, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

bool PeerEmulator::ReadChallenge(const rte_mbuf* m, uint32_t* vni, int* leg,
                                 Challenge* challenge) const {
  if (rte_pktmbuf_data_len(m) != kV4HeaderLen + 160) {
    return false;
  }
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t dst;
  std::memcpy(&dst, p + kEthHdrLen + 16, 4);
  const uint32_t index = ntohl(dst) - kClientBase;
  *vni = index / 2;
  *leg = static_cast<int>(index % 2);
  if (*vni == 0 || *vni > config_.sessions) {
    return false;
  }
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(
      client_shared_[*leg], std::span<const uint8_t>(p + kV4HeaderLen + kGeneveHeaderLen, 152));
  absl::StatusOr<DiscoMessage> msg =
      clear.ok() ? ParseDisco(*clear) : absl::StatusOr<DiscoMessage>(clear.status());
  if (!msg.ok() || !std::holds_alternative<BindUdpRelayEndpointChallenge>(*msg)) {
    return false;
  }
  *challenge = std::get<BindUdpRelayEndpointChallenge>(*msg).challenge;
  return true;
}

bool PeerEmulator::BindAll(MainLcore& main, bool handshake, const std::function<void()>& pump) {
  for (uint32_t first = 1; first <= config_.sessions; first += kHandshakeBatch) {
    const uint32_t last = std::min(config_.sessions, first + kHandshakeBatch - 1);
    if (!Install(main, first, last, handshake)) {
      return false;
    }
    if (!handshake) {
      continue;
    }
    for (uint32_t vni = first; vni <= last; ++vni) {
      SendBindMessage(vni, 0, DiscoType::kBindUdpRelayEndpoint, Challenge{});
      SendBindMessage(vni, 1, DiscoType::kBindUdpRelayEndpoint, Challenge{});
    }
    pump();
    uint32_t answered = 0;
    void* obj;
    while (rte_ring_dequeue(from_relay_, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      uint32_t vni;
      int leg;
      Challenge challenge;
      if (ReadChallenge(m, &vni, &leg, &challenge)) {
        SendBindMessage(vni, leg, DiscoType::kBindUdpRelayEndpointAnswer, challenge);
        ++answered;
      }
      rte_pktmbuf_free(m);
    }
    if (answered != 2 * (last - first + 1)) {
      return false;
    }
    pump();
  }
  BuildTemplates();
  return true;
}

void PeerEmulator::SetPayload(uint32_t payload) {
  config_.payload = payload;
  BuildTemplates();
}

void PeerEmulator::BuildTemplates() {
  templates_.assign((size_t{config_.sessions} + 1) * 2, LegTemplate{});
  std::vector<uint8_t> payload(config_.payload, 0);
  for (uint32_t vni = 1; vni <= config_.sessions; ++vni) {
    (void)EncodeGeneve({.protocol = kGeneveProtocolWireGuard, .vni = vni},
                       std::span<uint8_t>(payload.data(), kGeneveHeaderLen));
    for (int leg = 0; leg < 2; ++leg) {
      std::vector<uint8_t> f = Frame(vni, leg, payload.data(), payload.size());
      std::memcpy(templates_[size_t{vni} * 2 + leg].bytes, f.data(), sizeof(LegTemplate::bytes));
    }
  }
}

void PeerEmulator::Fill(rte_mbuf* m) {
  // The session for this packet was drawn one packet ago and its template prefetched then, so
  // the emulator's own random access over millions of templates does not bound the harness.
  const size_t index = next_template_;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  next_leg_ ^= 1;
  next_template_ = (1 + static_cast<size_t>(rng_ % config_.sessions)) * 2 + next_leg_;
  __builtin_prefetch(&templates_[next_template_]);
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), templates_[index].bytes, sizeof(LegTemplate::bytes));
}

bool PeerEmulator::Prime() {
  const uint16_t len = static_cast<uint16_t>(kV4HeaderLen + config_.payload);
  for (uint32_t i = 0; i < config_.inflight; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      return false;
    }
    std::memset(rte_pktmbuf_append(m, len), 0, len);
    Fill(m);
    if (rte_ring_enqueue(to_relay_, m) != 0) {
      rte_pktmbuf_free(m);
      return false;
    }
  }
  return true;
}

uint32_t PeerEmulator::Step() {
  rte_mbuf* pkts[kBatch];
  const unsigned n =
      rte_ring_dequeue_burst(from_relay_, reinterpret_cast<void**>(pkts), kBatch, nullptr);
  const uint32_t expected_len = kV4HeaderLen + config_.payload;
  for (unsigned i = 0; i < n; ++i) {
    if (rte_pktmbuf_data_len(pkts[i]) != expected_len) {
      ++unexpected_;
    }
    // The forwarded packet keeps its payload (zeros after Geneve); only the first 50 bytes are
    // rewritten to turn it into the next packet towards the relay.
    Fill(pkts[i]);
  }
  const unsigned sent =
      rte_ring_enqueue_burst(to_relay_, reinterpret_cast<void**>(pkts), n, nullptr);
  if (sent < n) {
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
  received_ += n;
  return n;
}

}  // namespace dprelay::perf
