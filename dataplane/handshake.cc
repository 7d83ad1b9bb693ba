#include "dataplane/handshake.h"

#include <sodium.h>

#include <cstring>
#include <variant>

#include "dataplane/coarse_clock.h"
#include "proto/wire.h"

namespace dprelay {

void MacSecrets::MaybeRotate(uint64_t now_ns) {
  if (count_ > 0 && now_ns - rotated_at_ns_ < kRotationIntervalNs) {
    return;
  }
  secrets_[1] = secrets_[0];
  randombytes_buf(secrets_[0].data(), secrets_[0].size());
  count_ = count_ == 0 ? 1 : 2;
  rotated_at_ns_ = now_ns;
}

Challenge MacSecrets::Compute(int index, uint32_t vni, uint32_t generation,
                              const DiscoKey& remote_key, const AddrPort& src) const {
  // VNI(4) | Generation(4) | RemoteKey(32) | address (4 or 16) | port little-endian (2), the
  // reference's input layout; only the hash differs (BLAKE2b here).
  uint8_t input[4 + 4 + kKeyLen + 16 + 2];
  size_t n = 0;
  StoreBe32(input, vni);
  StoreBe32(input + 4, generation);
  std::memcpy(input + 8, remote_key.bytes.data(), kKeyLen);
  n = 8 + kKeyLen;
  size_t addr_len = src.ip.is_v4() ? 4 : 16;
  std::memcpy(input + n, src.ip.bytes.data(), addr_len);
  n += addr_len;
  input[n++] = static_cast<uint8_t>(src.port);
  input[n++] = static_cast<uint8_t>(src.port >> 8);
  Challenge out{};
  crypto_generichash(out.data(), out.size(), input, n, secrets_[index].data(),
                     secrets_[index].size());
  return out;
}

bool MacSecrets::Verify(const Challenge& c, uint32_t vni, uint32_t generation,
                        const DiscoKey& remote_key, const AddrPort& src) const {
  // Constant time: how much of a forged challenge matched must not show in the timing.
  bool ok = false;
  for (int i = 0; i < count_; ++i) {
    const Challenge expected = Compute(i, vni, generation, remote_key, src);
    ok |= sodium_memcmp(expected.data(), c.data(), c.size()) == 0;
  }
  return ok;
}

namespace {

HandshakeResult Drop(DropReason r) { return HandshakeResult::Dropped(r); }

}  // namespace

int SenderLeg(const HandshakeState& state, std::span<const uint8_t> disco, DropReason* drop) {
  if (!LooksLikeDiscoWrapper(disco)) {
    *drop = DropReason::kBadWrapper;
    return -1;
  }
  const DiscoKey sender = DiscoWrapperSender(disco);
  if (sender == state.keys[0]) {
    return 0;
  }
  if (sender == state.keys[1]) {
    return 1;
  }
  *drop = DropReason::kUnknownSender;
  return -1;
}

HandshakeResult HandleHandshake(HandshakeState& state, const DiscoKey& server_key, MacSecrets& macs,
                                std::span<const uint8_t> disco, const AddrPort& src,
                                uint64_t now_ns) {
  DropReason why = DropReason::kNotDropped;
  const int leg = SenderLeg(state, disco, &why);
  if (leg < 0) {
    return Drop(why);
  }
  return HandleHandshakeForLeg(state, leg, server_key, macs, disco, src, now_ns);
}

HandshakeResult HandleHandshakeForLeg(HandshakeState& state, int leg, const DiscoKey& server_key,
                                      MacSecrets& macs, std::span<const uint8_t> disco,
                                      const AddrPort& src, uint64_t now_ns) {
  const int other = 1 - leg;
  // Handshake messages are 74 bytes; a larger box is opened whole (the reference ignores
  // trailing bytes after parsing), bounded by the largest UDP payload.
  uint8_t clear[65536];
  if (disco.size() < kDiscoSealOverhead || disco.size() - kDiscoSealOverhead > sizeof(clear)) {
    return Drop(DropReason::kBadWrapper);
  }
  absl::StatusOr<size_t> opened = OpenDisco(state.shared[leg], disco, clear);
  if (!opened.ok()) {
    return Drop(DropReason::kOpenFailed);
  }
  absl::StatusOr<DiscoMessage> msg = ParseDisco(std::span<const uint8_t>(clear, *opened));
  if (!msg.ok()) {
    return Drop(DropReason::kParseFailed);
  }
  macs.MaybeRotate(now_ns);

  if (const auto* bind = std::get_if<BindUdpRelayEndpoint>(&*msg)) {
    if (bind->vni != state.vni) {
      return Drop(DropReason::kVniMismatch);
    }
    if (bind->remote_key != state.keys[other]) {
      return Drop(DropReason::kRemoteKeyMismatch);
    }
    if (bind->generation == 0) {
      return Drop(DropReason::kGenerationZero);
    }
    state.in_progress_generation[leg] = bind->generation;
    state.challenge_sent_us[leg] = UsStamp(now_ns);
    BindCommon challenge;
    challenge.vni = state.vni;
    challenge.generation = bind->generation;
    challenge.remote_key = state.keys[other];
    challenge.challenge = macs.Compute(0, state.vni, bind->generation, state.keys[other], src);
    uint8_t cleartext[kBindMessageLen];
    EncodeBindMessage(DiscoType::kBindUdpRelayEndpointChallenge, challenge,
                      std::span<uint8_t, kBindMessageLen>(cleartext));

    HandshakeResult res;
    res.kind = HandshakeResult::Kind::kChallenge;
    res.leg = leg;
    GeneveHeader gh{
        .version = 0, .control = true, .protocol = kGeneveProtocolDisco, .vni = state.vni};
    (void)EncodeGeneve(gh, std::span<uint8_t>(res.reply.data(), kGeneveHeaderLen));
    SealDisco(state.shared[leg], server_key, cleartext,
              std::span<uint8_t>(res.reply.data() + kGeneveHeaderLen,
                                 res.reply.size() - kGeneveHeaderLen));
    return res;
  }
  if (const auto* answer = std::get_if<BindUdpRelayEndpointAnswer>(&*msg)) {
    if (answer->vni != state.vni) {
      return Drop(DropReason::kVniMismatch);
    }
    if (answer->remote_key != state.keys[other]) {
      return Drop(DropReason::kRemoteKeyMismatch);
    }
    if (state.in_progress_generation[leg] == 0) {
      return Drop(DropReason::kNoGeneration);
    }
    if (answer->generation != state.in_progress_generation[leg]) {
      return Drop(DropReason::kGenerationMismatch);
    }
    if (!macs.Verify(answer->challenge, answer->vni, answer->generation, answer->remote_key, src)) {
      return Drop(DropReason::kMacMismatch);
    }
    state.in_progress_generation[leg] = 0;
    HandshakeResult res;
    res.kind = HandshakeResult::Kind::kBound;
    res.leg = leg;
    res.rtt_ns = uint64_t{StampsApart(UsStamp(now_ns), state.challenge_sent_us[leg])} * kNsPerUs;
    return res;
  }
  return Drop(DropReason::kUnexpectedType);
}

}  // namespace dprelay
