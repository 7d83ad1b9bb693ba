// The relay's handshake state machine without EAL or NIC: Bind -> Challenge -> Answer, the
// checks of PROTOCOL.md §4 and the MAC secret rotation.
#include <gtest/gtest.h>

#include <variant>
#include <vector>

#include "dataplane/handshake.h"
#include "dataplane/neighbours.h"

namespace dprelay {
namespace {

constexpr uint64_t kMinute = 60ull * 1'000'000'000;

DiscoKeyPair KeyFromByte(uint8_t b) {
  DiscoPrivateKey p;
  p.bytes.fill(b);
  return KeyPairFromPrivate(p);
}

class HandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = KeyFromByte(0x11);
    b_ = KeyFromByte(0x22);
    s_ = KeyFromByte(0x33);
    state_.keys = SortedPair(a_.pub, b_.pub);
    for (int i = 0; i < 2; ++i) {
      state_.shared[i] = *ComputeSharedKey(state_.keys[i], s_.priv);
    }
    state_.vni = 1;
    leg_a_ = state_.keys[0] == a_.pub ? 0 : 1;
  }

  std::vector<uint8_t> Seal(const DiscoKeyPair& from, DiscoType type, uint32_t gen,
                            const DiscoKey& remote, const Challenge& ch = {}, uint32_t vni = 1) {
    uint8_t clear[kBindMessageLen];
    EncodeBindMessage(type, BindCommon{vni, gen, remote, ch},
                      std::span<uint8_t, kBindMessageLen>(clear));
    return SealDisco(*ComputeSharedKey(s_.pub, from.priv), from.pub, clear);
  }

  Challenge ChallengeFrom(const HandshakeResult& r, const DiscoKeyPair& to) {
    EXPECT_EQ(r.kind, HandshakeResult::Kind::kChallenge);
    std::span<const uint8_t> box(r.reply.data() + kGeneveHeaderLen,
                                 r.reply.size() - kGeneveHeaderLen);
    absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(*ComputeSharedKey(s_.pub, to.priv), box);
    EXPECT_TRUE(clear.ok());
    absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
    EXPECT_TRUE(msg.ok());
    return std::get<BindUdpRelayEndpointChallenge>(*msg).challenge;
  }

  DiscoKeyPair a_, b_, s_;
  HandshakeState state_;
  MacSecrets macs_;
  int leg_a_ = 0;
  AddrPort src_{IpAddr::V4(192, 0, 2, 1), 41641};
};

TEST_F(HandshakeTest, BindChallengeAnswerBindsTheLegOnce) {
  HandshakeResult r = HandleHandshake(
      state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 9, b_.pub), src_, kMinute);
  ASSERT_EQ(r.kind, HandshakeResult::Kind::kChallenge);
  EXPECT_EQ(r.leg, leg_a_);
  EXPECT_EQ(r.reply.size(), 160u);  // same size as the Bind: no amplification
  Challenge ch = ChallengeFrom(r, a_);
  std::vector<uint8_t> answer = Seal(a_, DiscoType::kBindUdpRelayEndpointAnswer, 9, b_.pub, ch);
  r = HandleHandshake(state_, s_.pub, macs_, answer, src_, kMinute + 420'000);
  EXPECT_EQ(r.kind, HandshakeResult::Kind::kBound);
  EXPECT_EQ(r.leg, leg_a_);
  EXPECT_EQ(r.rtt_ns, 420'000u);  // Challenge sent -> Answer received
  r = HandleHandshake(state_, s_.pub, macs_, answer, src_, kMinute);  // replay
  EXPECT_EQ(r.kind, HandshakeResult::Kind::kDrop);
  EXPECT_EQ(r.drop, DropReason::kNoGeneration);
}

TEST_F(HandshakeTest, TheChallengeIsBoundToTheSourceAddressAndPort) {
  HandshakeResult r = HandleHandshake(
      state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 3, b_.pub), src_, kMinute);
  Challenge ch = ChallengeFrom(r, a_);
  AddrPort elsewhere = src_;
  elsewhere.port = 41642;
  r = HandleHandshake(state_, s_.pub, macs_,
                      Seal(a_, DiscoType::kBindUdpRelayEndpointAnswer, 3, b_.pub, ch), elsewhere,
                      kMinute);
  EXPECT_EQ(r.drop, DropReason::kMacMismatch);
}

TEST_F(HandshakeTest, ANewBindOverwritesTheGenerationInProgress) {
  HandshakeResult r1 = HandleHandshake(
      state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 3, b_.pub), src_, kMinute);
  Challenge ch3 = ChallengeFrom(r1, a_);
  HandleHandshake(state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 4, b_.pub),
                  src_, kMinute);
  HandshakeResult r = HandleHandshake(
      state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpointAnswer, 3, b_.pub, ch3), src_,
      kMinute);
  EXPECT_EQ(r.drop, DropReason::kGenerationMismatch);
}

TEST_F(HandshakeTest, TheRoundTripIsTimedFromTheLastChallenge) {
  // The client's first Bind got lost on the way back; it retransmits and answers the second
  // Challenge, so the round trip starts at the second.
  HandleHandshake(state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 5, b_.pub),
                  src_, kMinute);
  HandshakeResult r =
      HandleHandshake(state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 5, b_.pub),
                      src_, kMinute + 1000);
  Challenge ch = ChallengeFrom(r, a_);
  r = HandleHandshake(state_, s_.pub, macs_,
                      Seal(a_, DiscoType::kBindUdpRelayEndpointAnswer, 5, b_.pub, ch), src_,
                      kMinute + 1000 + 250'000);
  ASSERT_EQ(r.kind, HandshakeResult::Kind::kBound);
  EXPECT_EQ(r.rtt_ns, 250'000u);
}

TEST_F(HandshakeTest, ChallengesStayValidForOneRotationOnly) {
  HandshakeResult r = HandleHandshake(
      state_, s_.pub, macs_, Seal(a_, DiscoType::kBindUdpRelayEndpoint, 1, b_.pub), src_, kMinute);
  Challenge ch = ChallengeFrom(r, a_);
  EXPECT_EQ(macs_.count(), 1);
  // 1 ns before two minutes nothing rotates; at two minutes the secret becomes "previous".
  macs_.MaybeRotate(kMinute + 2 * kMinute - 1);
  EXPECT_EQ(macs_.count(), 1);
  macs_.MaybeRotate(kMinute + 2 * kMinute);
  EXPECT_EQ(macs_.count(), 2);
  EXPECT_TRUE(macs_.Verify(ch, 1, 1, b_.pub, src_));
  macs_.MaybeRotate(kMinute + 4 * kMinute);
  EXPECT_FALSE(macs_.Verify(ch, 1, 1, b_.pub, src_));
}

TEST_F(HandshakeTest, EveryCheckFailureIsASilentDropWithItsReason) {
  struct Case {
    const char* what;
    std::vector<uint8_t> packet;
    DropReason reason;
  };
  DiscoKeyPair stranger = KeyFromByte(0x44);
  std::vector<uint8_t> broken = Seal(a_, DiscoType::kBindUdpRelayEndpoint, 1, b_.pub);
  broken[70] ^= 0x80;
  std::vector<Case> cases = {
      {"short", {1, 2, 3}, DropReason::kBadWrapper},
      {"stranger", Seal(stranger, DiscoType::kBindUdpRelayEndpoint, 1, b_.pub),
       DropReason::kUnknownSender},
      {"tampered", broken, DropReason::kOpenFailed},
      {"remote key is the sender", Seal(a_, DiscoType::kBindUdpRelayEndpoint, 1, a_.pub),
       DropReason::kRemoteKeyMismatch},
      {"generation 0", Seal(a_, DiscoType::kBindUdpRelayEndpoint, 0, b_.pub),
       DropReason::kGenerationZero},
      {"sealed VNI differs", Seal(a_, DiscoType::kBindUdpRelayEndpoint, 1, b_.pub, {}, 2),
       DropReason::kVniMismatch},
      {"a Challenge sent to the relay",
       Seal(a_, DiscoType::kBindUdpRelayEndpointChallenge, 1, b_.pub), DropReason::kUnexpectedType},
      {"answer with no bind", Seal(b_, DiscoType::kBindUdpRelayEndpointAnswer, 1, a_.pub),
       DropReason::kNoGeneration},
  };
  for (const Case& c : cases) {
    HandshakeResult r = HandleHandshake(state_, s_.pub, macs_, c.packet, src_, kMinute);
    EXPECT_EQ(r.kind, HandshakeResult::Kind::kDrop) << c.what;
    EXPECT_EQ(r.drop, c.reason) << c.what;
  }
}

}  // namespace
}  // namespace dprelay
