// The relay's side of Bind -> Challenge -> Answer (PROTOCOL.md §4), run on the main lcore.
// Pure logic over bytes and addresses: no DPDK, so unit tests drive it directly.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/drop_reasons.h"
#include "proto/geneve.h"
#include "proto/key.h"

namespace dprelay {

// Challenge = 8 Geneve + 6 magic + 32 key + 24 nonce + 16 tag + 74 cleartext.
inline constexpr size_t kChallengePacketLen = 160;
static_assert(kGeneveHeaderLen + SealedDiscoLen(kBindMessageLen) == kChallengePacketLen,
              "Challenges must be exactly as long as Binds: no amplification");

// Keyed MAC secrets for Challenges: current and previous, rotated lazily every 2 minutes
// (macSecretRotationInterval). The MAC is server-internal: keyed BLAKE2b (libsodium
// crypto_generichash) over VNI | Generation | RemoteKey | source address | port (LE).
class MacSecrets {
 public:
  static constexpr uint64_t kRotationIntervalNs = 120ull * 1000 * 1000 * 1000;

  // Draws the first secret on first use and rotates when the interval has passed.
  void MaybeRotate(uint64_t now_ns);
  Challenge Compute(int index, uint32_t vni, uint32_t generation, const DiscoKey& remote_key,
                    const AddrPort& src) const;
  // True if the challenge matches under the current or the previous secret.
  bool Verify(const Challenge& c, uint32_t vni, uint32_t generation, const DiscoKey& remote_key,
              const AddrPort& src) const;
  int count() const { return count_; }

 private:
  std::array<std::array<uint8_t, 32>, 2> secrets_{};  // [0] current, [1] previous
  int count_ = 0;
  uint64_t rotated_at_ns_ = 0;
};

// What the main lcore keeps per session for the handshake (never read by workers). The server
// key, the same for every session of one control configuration, is passed separately.
struct HandshakeState {
  std::array<DiscoKey, 2> keys;     // sorted client keys
  std::array<SharedKey, 2> shared;  // beforenm(keys[i], server private key)
  uint32_t vni = 0;
  std::array<uint32_t, 2> in_progress_generation = {0, 0};
  // When the last Challenge went to each leg (UsStamp: 1 us, wraps after 71.6 minutes): the
  // start of the handshake round trip.
  std::array<uint32_t, 2> challenge_sent_us = {0, 0};
};
static_assert(sizeof(HandshakeState) == 148, "keys, shared keys, VNI, generations, stamps");

struct HandshakeResult {
  enum class Kind { kDrop, kChallenge, kBound };
  Kind kind = Kind::kDrop;
  DropReason drop = DropReason::kBadWrapper;  // when kDrop
  int leg = 0;                                // when kChallenge or kBound
  // When kBound: last Challenge sent -> this Answer, to the microsecond. If the client
  // answered an earlier Challenge of the same generation (a retransmitted Bind), this is an
  // underestimate; an Answer more than 71.6 minutes after the Challenge (possible only when
  // no handshake packet rotated the MAC secret meanwhile) is reported modulo that.
  uint64_t rtt_ns = 0;
  std::array<uint8_t, kChallengePacketLen> reply{};  // when kChallenge: the UDP payload

  static HandshakeResult Dropped(DropReason why) {
    HandshakeResult r;
    r.drop = why;
    return r;
  }
};

// Handles one control packet for a live session: `disco` is the UDP payload after the Geneve
// header, `src` the packet's source, `server_key` the sender of our Challenges. Validates exactly
// as the reference relay; every failure is a silent drop with its reason.
HandshakeResult HandleHandshake(HandshakeState& state, const DiscoKey& server_key, MacSecrets& macs,
                                std::span<const uint8_t> disco, const AddrPort& src,
                                uint64_t now_ns);

// HandleHandshake in its two steps, for a caller that acts between them (the session
// manager's box-open budget): which leg's client `disco` names (0 or 1; -1 with *drop set to
// bad_wrapper or unknown_sender), checked without cryptography; then the rest, from the box
// open on, for that leg.
int SenderLeg(const HandshakeState& state, std::span<const uint8_t> disco, DropReason* drop);
HandshakeResult HandleHandshakeForLeg(HandshakeState& state, int leg, const DiscoKey& server_key,
                                      MacSecrets& macs, std::span<const uint8_t> disco,
                                      const AddrPort& src, uint64_t now_ns);

}  // namespace dprelay
