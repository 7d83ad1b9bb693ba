// The relay's handshake (dataplane/handshake.cc) on untrusted control packets. The first byte
// picks how the rest is used: 0 raw bytes as the packet after the Geneve header (what an
// attacker without keys can send); 1 or 2 a cleartext that the harness seals as client A or B,
// so coverage reaches the parser and every check behind the box. State persists across inputs
// within a run, as it does in the relay, so sequences (Bind then Answer) are explored too.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "dataplane/handshake.h"
#include "fuzz_check.h"

namespace dprelay {
namespace {

DiscoKeyPair KeyFromByte(uint8_t b) {
  DiscoPrivateKey p;
  p.bytes.fill(b);
  return KeyPairFromPrivate(p);
}

struct Fixture {
  DiscoKeyPair clients[2];
  DiscoKeyPair server = KeyFromByte(0x33);
  SharedKey client_shared[2];
  HandshakeState state;
  MacSecrets macs;
  uint64_t now_ns = 1;

  Fixture() {
    DiscoKeyPair a = KeyFromByte(0x11), b = KeyFromByte(0x22);
    std::array<DiscoKey, 2> sorted = SortedPair(a.pub, b.pub);
    clients[0] = sorted[0] == a.pub ? a : b;
    clients[1] = sorted[0] == a.pub ? b : a;
    for (int i = 0; i < 2; ++i) {
      state.keys[i] = clients[i].pub;
      state.shared[i] = *ComputeSharedKey(clients[i].pub, server.priv);
      client_shared[i] = *ComputeSharedKey(server.pub, clients[i].priv);
    }
    state.vni = 1;
  }
};

int FuzzOne(const uint8_t* data, size_t size) {
  static Fixture f;
  if (size == 0) {
    return 0;
  }
  const uint8_t mode = data[0] % 3;
  std::span<const uint8_t> rest(data + 1, size - 1);
  std::vector<uint8_t> packet;
  int sealed_by = -1;
  if (mode == 0) {
    packet.assign(rest.begin(), rest.end());
  } else {
    sealed_by = mode - 1;
    packet = SealDisco(f.client_shared[sealed_by], f.clients[sealed_by].pub, rest);
  }
  f.now_ns += 1'000'000'000;  // a second per input: rotation happens along the way
  const AddrPort src{IpAddr::V4(192, 0, 2, 1), 41641};
  const std::array<uint32_t, 2> before = f.state.in_progress_generation;
  HandshakeResult r = HandleHandshake(f.state, f.server.pub, f.macs, packet, src, f.now_ns);

  if (r.kind == HandshakeResult::Kind::kDrop) {
    // Raw bytes from someone without a key never get past the box.
    FUZZ_CHECK(sealed_by >= 0 || r.drop == DropReason::kBadWrapper ||
               r.drop == DropReason::kUnknownSender || r.drop == DropReason::kOpenFailed);
    return 0;
  }
  FUZZ_CHECK(sealed_by >= 0);  // only a sealed message can get a reply or bind
  FUZZ_CHECK(r.leg == sealed_by);
  if (r.kind == HandshakeResult::Kind::kBound) {
    FUZZ_CHECK(before[r.leg] != 0 && f.state.in_progress_generation[r.leg] == 0);
    return 0;
  }
  // A Challenge: 160 bytes, control Geneve header, sealed by the server to the binding client,
  // echoing the Bind's generation and naming the other client.
  FUZZ_CHECK(r.reply.size() == kChallengePacketLen);
  absl::StatusOr<GeneveHeader> g = DecodeGeneve(r.reply);
  FUZZ_CHECK(g.ok() && g->control && g->protocol == kGeneveProtocolDisco && g->vni == 1);
  std::span<const uint8_t> box(r.reply.data() + kGeneveHeaderLen,
                               r.reply.size() - kGeneveHeaderLen);
  FUZZ_CHECK(DiscoWrapperSender(box) == f.server.pub);
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(f.client_shared[r.leg], box);
  FUZZ_CHECK(clear.ok());
  absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
  FUZZ_CHECK(msg.ok() && std::holds_alternative<BindUdpRelayEndpointChallenge>(*msg));
  const auto& ch = std::get<BindUdpRelayEndpointChallenge>(*msg);
  FUZZ_CHECK(ch.generation != 0 && ch.generation == f.state.in_progress_generation[r.leg]);
  FUZZ_CHECK(ch.remote_key == f.clients[1 - r.leg].pub && ch.vni == 1);
  FUZZ_CHECK(f.macs.Verify(ch.challenge, 1, ch.generation, ch.remote_key, src));
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
