#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"
#include "proto_describe.h"
#include "proto_vectors.h"

namespace dprelay {
namespace {

using ::dprelay::testing::Hex;
using ::testing::HasSubstr;

template <typename T>
T FromBytes(const std::vector<uint8_t>& b) {
  T k;
  EXPECT_EQ(b.size(), k.bytes.size());
  std::copy_n(b.begin(), std::min(b.size(), k.bytes.size()), k.bytes.begin());
  return k;
}

DiscoNonce NonceFrom(uint8_t first) {
  DiscoNonce n;
  for (size_t i = 0; i < n.size(); ++i) {
    n[i] = static_cast<uint8_t>(first + i);
  }
  return n;
}

std::span<const uint8_t> AfterGeneve(const std::vector<uint8_t>& payload) {
  return std::span<const uint8_t>(payload).subspan(kGeneveHeaderLen);
}

class SealedHandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_pub_ = FromBytes<DiscoKey>(v_.at("clientA pub"));
    b_pub_ = FromBytes<DiscoKey>(v_.at("clientB pub"));
    s_pub_ = FromBytes<DiscoKey>(v_.at("server pub"));
    a_priv_ = FromBytes<DiscoPrivateKey>(v_.at("clientA priv"));
    s_priv_ = FromBytes<DiscoPrivateKey>(v_.at("server priv"));
    shared_ = FromBytes<SharedKey>(v_.at("shared(A,S) precomputed"));
  }

  // The cleartext the Answer carries: the Challenge's with type 06.
  std::vector<uint8_t> AnswerClear() const {
    std::vector<uint8_t> c = v_.at("Challenge cleartext");
    c[0] = 0x06;
    return c;
  }

  std::map<std::string, std::vector<uint8_t>> v_ = testing::LoadSealedVectors();
  DiscoKey a_pub_, b_pub_, s_pub_;
  DiscoPrivateKey a_priv_, s_priv_;
  SharedKey shared_;
};

TEST_F(SealedHandshakeTest, SharedKeyBothWays) {
  absl::StatusOr<SharedKey> as = ComputeSharedKey(s_pub_, a_priv_);
  ASSERT_TRUE(as.ok()) << as.status();
  EXPECT_EQ(Hex(as->bytes), Hex(shared_.bytes));
  absl::StatusOr<SharedKey> sa = ComputeSharedKey(a_pub_, s_priv_);
  ASSERT_TRUE(sa.ok()) << sa.status();
  EXPECT_EQ(*sa, shared_);
}

struct Packet {
  const char* payload;
  const char* clear;  // nullptr: the Answer (derived from the Challenge cleartext)
  const char* sender;
  uint8_t nonce_first;
  DiscoType type;
};

constexpr Packet kPackets[] = {
    {"Full UDP payload Bind A->S", "Bind cleartext", "clientA pub", 0x00,
     DiscoType::kBindUdpRelayEndpoint},
    {"Full UDP payload Challenge S->A", "Challenge cleartext", "server pub", 0x20,
     DiscoType::kBindUdpRelayEndpointChallenge},
    {"Full UDP payload Answer A->S", nullptr, "clientA pub", 0x40,
     DiscoType::kBindUdpRelayEndpointAnswer},
};

TEST_F(SealedHandshakeTest, OpenEachPacket) {
  for (const Packet& p : kPackets) {
    SCOPED_TRACE(p.payload);
    const std::vector<uint8_t>& payload = v_.at(p.payload);
    ASSERT_EQ(payload.size(), 160u);
    absl::StatusOr<GeneveHeader> h = DecodeGeneve(payload);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h->control);
    EXPECT_EQ(h->protocol, kGeneveProtocolDisco);
    EXPECT_EQ(h->vni, 1u);

    std::span<const uint8_t> wrapper = AfterGeneve(payload);
    ASSERT_TRUE(LooksLikeDiscoWrapper(wrapper));
    EXPECT_EQ(DiscoWrapperSender(wrapper), FromBytes<DiscoKey>(v_.at(p.sender)));
    absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(shared_, wrapper);
    ASSERT_TRUE(clear.ok()) << clear.status();
    std::vector<uint8_t> want = p.clear ? v_.at(p.clear) : AnswerClear();
    EXPECT_EQ(Hex(*clear), Hex(want));

    absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
    ASSERT_TRUE(msg.ok()) << msg.status();
    EXPECT_EQ(msg->index(), static_cast<size_t>(p.type) - 1);
    std::visit(
        [&](const auto& m) {
          if constexpr (std::is_base_of_v<BindCommon, std::decay_t<decltype(m)>>) {
            EXPECT_EQ(m.vni, 1u);
            EXPECT_EQ(m.generation, 1u);
            EXPECT_EQ(m.remote_key, b_pub_);
          } else {
            ADD_FAILURE() << "not a bind-family message";
          }
        },
        *msg);
  }
}

TEST_F(SealedHandshakeTest, ResealWithFixedNoncesGivesIdenticalBytes) {
  for (const Packet& p : kPackets) {
    SCOPED_TRACE(p.payload);
    const std::vector<uint8_t>& payload = v_.at(p.payload);
    std::vector<uint8_t> clear = p.clear ? v_.at(p.clear) : AnswerClear();
    DiscoNonce nonce = NonceFrom(p.nonce_first);
    DiscoKey sender = FromBytes<DiscoKey>(v_.at(p.sender));
    // The nonce also sits at payload offset 46.
    EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), payload.begin() + 46));

    std::vector<uint8_t> sealed = SealDisco(shared_, sender, clear, &nonce);
    std::span<const uint8_t> want = AfterGeneve(payload);
    EXPECT_EQ(Hex(sealed), Hex(want));

    // The span form into one 160-byte buffer, Geneve header first, as the dataplane does it.
    std::array<uint8_t, 160> out{};
    ASSERT_TRUE(
        EncodeGeneve({.version = 0, .control = true, .protocol = kGeneveProtocolDisco, .vni = 1},
                     out)
            .ok());
    std::array<uint8_t, kBindMessageLen> inner;
    absl::StatusOr<DiscoMessage> msg = ParseDisco(clear);
    ASSERT_TRUE(msg.ok());
    std::visit(
        [&](const auto& m) {
          if constexpr (std::is_base_of_v<BindCommon, std::decay_t<decltype(m)>>) {
            EncodeBindMessage(p.type, m, inner);
          }
        },
        *msg);
    EXPECT_EQ(Hex(inner), Hex(clear));
    size_t n = SealDisco(shared_, sender, inner, std::span<uint8_t>(out).subspan(8), &nonce);
    EXPECT_EQ(n, SealedDiscoLen(kBindMessageLen));
    EXPECT_EQ(Hex(out), Hex(payload));
  }
}

TEST_F(SealedHandshakeTest, TamperingAndWrongKeysFail) {
  std::span<const uint8_t> bind = AfterGeneve(v_.at("Full UDP payload Bind A->S"));
  std::vector<uint8_t> work(bind.begin(), bind.end());
  // Every bit of nonce, tag and ciphertext matters.
  for (size_t i = kDiscoHeaderLen; i < work.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      work[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(OpenDisco(shared_, work).ok()) << i << "/" << bit;
      work[i] ^= static_cast<uint8_t>(1 << bit);
    }
  }
  ASSERT_TRUE(OpenDisco(shared_, work).ok());
  // The sender field is not authenticated by the box itself (the caller picks the key by it).
  work[10] ^= 1;
  EXPECT_TRUE(OpenDisco(shared_, work).ok());
  work[10] ^= 1;
  work[0] ^= 1;
  absl::StatusOr<std::vector<uint8_t>> r = OpenDisco(shared_, work);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not a disco wrapper"));
  work[0] ^= 1;

  absl::StatusOr<SharedKey> wrong = ComputeSharedKey(b_pub_, s_priv_);
  ASSERT_TRUE(wrong.ok());
  r = OpenDisco(*wrong, work);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("authentication failed"));
}

TEST_F(SealedHandshakeTest, TruncatedAtEveryLength) {
  std::span<const uint8_t> bind = AfterGeneve(v_.at("Full UDP payload Bind A->S"));
  for (size_t len = 0; len < bind.size(); ++len) {
    std::vector<uint8_t> cut(bind.begin(), bind.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_EQ(LooksLikeDiscoWrapper(cut), len >= kDiscoWrapperMinLen) << len;
    absl::StatusOr<std::vector<uint8_t>> r = OpenDisco(shared_, cut);
    EXPECT_FALSE(r.ok()) << len;
  }
}

TEST_F(SealedHandshakeTest, OutputBufferChecks) {
  std::span<const uint8_t> bind = AfterGeneve(v_.at("Full UDP payload Bind A->S"));
  std::array<uint8_t, kBindMessageLen - 1> small;
  EXPECT_FALSE(OpenDisco(shared_, bind, small).ok());
  std::array<uint8_t, kBindMessageLen> exact;
  absl::StatusOr<size_t> n = OpenDisco(shared_, bind, exact);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kBindMessageLen);

  std::array<uint8_t, 151> too_small_out;
  EXPECT_EQ(SealDisco(shared_, a_pub_, exact, too_small_out), 0u);
}

TEST(DiscoBoxTest, RandomNonceSealsOpenAndDiffer) {
  DiscoKeyPair a = GenerateKeyPair();
  DiscoKeyPair s = GenerateKeyPair();
  absl::StatusOr<SharedKey> as = ComputeSharedKey(s.pub, a.priv);
  absl::StatusOr<SharedKey> sa = ComputeSharedKey(a.pub, s.priv);
  ASSERT_TRUE(as.ok() && sa.ok());
  EXPECT_EQ(*as, *sa);
  std::vector<uint8_t> clear = {1, 2, 3};
  std::vector<uint8_t> x = SealDisco(*as, a.pub, clear);
  std::vector<uint8_t> y = SealDisco(*as, a.pub, clear);
  EXPECT_EQ(x.size(), SealedDiscoLen(3));
  EXPECT_NE(x, y);
  EXPECT_EQ(DiscoWrapperSender(x), a.pub);
  absl::StatusOr<std::vector<uint8_t>> back = OpenDisco(*sa, y);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, clear);

  // An empty cleartext seals to exactly the overhead and opens to nothing.
  std::vector<uint8_t> e = SealDisco(*as, a.pub, {});
  EXPECT_EQ(e.size(), kDiscoSealOverhead);
  back = OpenDisco(*sa, e);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->empty());
}

TEST(DiscoBoxTest, SharedKeyRefusesZeroAndLowOrderPeers) {
  DiscoKeyPair own = GenerateKeyPair();
  DiscoKey zero;
  absl::StatusOr<SharedKey> s = ComputeSharedKey(zero, own.priv);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("zero"));
  DiscoKey one;
  one.bytes[0] = 1;
  s = ComputeSharedKey(one, own.priv);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("low-order"));
  DiscoKey p_minus_1;
  p_minus_1.bytes.fill(0xff);
  p_minus_1.bytes[0] = 0xec;
  p_minus_1.bytes[31] = 0x7f;
  EXPECT_FALSE(ComputeSharedKey(p_minus_1, own.priv).ok());
}

TEST(DiscoBoxTest, WrapperSenderOfShortInputIsZero) {
  std::vector<uint8_t> tiny = {0x54, 0x53};
  EXPECT_TRUE(DiscoWrapperSender(tiny).is_zero());
  EXPECT_FALSE(LooksLikeDiscoWrapper(tiny));
}

}  // namespace
}  // namespace dprelay
