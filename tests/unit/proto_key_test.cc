#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/key.h"
#include "proto_describe.h"
#include "proto_vectors.h"

namespace dprelay {
namespace {

using ::dprelay::testing::Hex;
using ::testing::HasSubstr;
using ::testing::Not;

DiscoKey KeyFrom(const std::vector<uint8_t>& b) {
  DiscoKey k;
  EXPECT_EQ(b.size(), kKeyLen);
  std::copy_n(b.begin(), std::min(b.size(), kKeyLen), k.bytes.begin());
  return k;
}

DiscoPrivateKey PrivFrom(const std::vector<uint8_t>& b) {
  DiscoPrivateKey k;
  EXPECT_EQ(b.size(), kKeyLen);
  std::copy_n(b.begin(), std::min(b.size(), kKeyLen), k.bytes.begin());
  return k;
}

class VectorKeysTest : public ::testing::Test {
 protected:
  std::map<std::string, std::vector<uint8_t>> v_ = testing::LoadSealedVectors();
};

TEST_F(VectorKeysTest, PublicKeysFromPrivate) {
  for (const char* who : {"clientA", "clientB", "server"}) {
    SCOPED_TRACE(who);
    DiscoPrivateKey priv = PrivFrom(v_.at(std::string(who) + " priv"));
    DiscoKeyPair kp = KeyPairFromPrivate(priv);
    EXPECT_EQ(Hex(kp.pub.bytes), Hex(v_.at(std::string(who) + " pub")));
    EXPECT_EQ(kp.priv.bytes, priv.bytes);
    EXPECT_TRUE(ValidatePeerKey(kp.pub).ok());
  }
}

TEST_F(VectorKeysTest, UnclampedPrivateGivesSamePublic) {
  // The vector privates are the byte repeated 32 times, then clamped; libsodium clamps again.
  constexpr std::pair<const char*, uint8_t> kWho[] = {
      {"clientA", 0x11}, {"clientB", 0x22}, {"server", 0x33}};
  for (const auto& [who, byte] : kWho) {
    DiscoPrivateKey raw;
    raw.bytes.fill(byte);
    EXPECT_EQ(Hex(KeyPairFromPrivate(raw).pub.bytes), Hex(v_.at(std::string(who) + " pub"))) << who;
  }
}

TEST_F(VectorKeysTest, TextFormsRoundTrip) {
  DiscoKey pub = KeyFrom(v_.at("clientA pub"));
  std::string text = FormatDiscoKey(pub);
  EXPECT_EQ(text, "discokey:" + Hex(pub.bytes));
  absl::StatusOr<DiscoKey> parsed = ParseDiscoKey(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, pub);

  std::string upper = "discokey:";
  for (char c : Hex(pub.bytes)) {
    upper += static_cast<char>(std::toupper(c));
  }
  parsed = ParseDiscoKey(upper);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, pub);

  EXPECT_EQ(ShortDisco(pub), "d:" + Hex(pub.bytes).substr(0, 16));

  DiscoPrivateKey priv = PrivFrom(v_.at("clientA priv"));
  std::string ptext = FormatPrivateKey(priv);
  EXPECT_EQ(ptext, "privkey:" + Hex(priv.bytes));
  absl::StatusOr<DiscoPrivateKey> pparsed = ParsePrivateKey(ptext);
  ASSERT_TRUE(pparsed.ok()) << pparsed.status();
  EXPECT_EQ(pparsed->bytes, priv.bytes);
}

TEST(KeyTextTest, DiscoKeyErrors) {
  absl::StatusOr<DiscoKey> k = ParseDiscoKey("discokey:0123456789ab");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(), "disco key: expected 64 hex digits after 'discokey:', got 12");

  const std::string hex64(64, 'a');
  EXPECT_THAT(std::string(ParseDiscoKey(hex64).status().message()),
              HasSubstr("missing 'discokey:' prefix"));
  EXPECT_FALSE(ParseDiscoKey("DISCOKEY:" + hex64).ok());
  EXPECT_FALSE(ParseDiscoKey("nodekey:" + hex64).ok());
  EXPECT_FALSE(ParseDiscoKey("").ok());
  EXPECT_FALSE(ParseDiscoKey("discokey:").ok());
  EXPECT_FALSE(ParseDiscoKey("discokey:" + hex64 + "0").ok());
  EXPECT_FALSE(ParseDiscoKey(" discokey:" + hex64).ok());
  EXPECT_FALSE(ParseDiscoKey("discokey:" + hex64 + "\n").ok());

  std::string bad = "discokey:" + hex64;
  bad[9 + 17] = 'g';
  k = ParseDiscoKey(bad);
  ASSERT_FALSE(k.ok());
  EXPECT_THAT(std::string(k.status().message()), HasSubstr("position 26"));
  bad[9 + 17] = '\0';
  EXPECT_FALSE(ParseDiscoKey(bad).ok());
  EXPECT_TRUE(ParseDiscoKey("discokey:" + hex64).ok());
}

TEST(KeyTextTest, PrivateKeyErrorsDoNotEchoTheSecret) {
  std::string secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX";
  absl::StatusOr<DiscoPrivateKey> k = ParsePrivateKey("privkey:" + secret);
  ASSERT_FALSE(k.ok());
  EXPECT_THAT(std::string(k.status().message()), Not(HasSubstr("0123456789abcdef")));
  k = ParsePrivateKey("privkey:" + secret.substr(0, 40));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(), "private key: expected 64 hex digits after 'privkey:', got 40");
  EXPECT_FALSE(ParsePrivateKey("discokey:" + std::string(64, '1')).ok());
}

TEST(KeyPairTest, GeneratedPairsAreDistinctAndConsistent) {
  DiscoKeyPair a = GenerateKeyPair();
  DiscoKeyPair b = GenerateKeyPair();
  EXPECT_NE(a.pub, b.pub);
  EXPECT_NE(a.priv.bytes, b.priv.bytes);
  EXPECT_EQ(KeyPairFromPrivate(a.priv).pub, a.pub);
  EXPECT_TRUE(ValidatePeerKey(a.pub).ok());
  EXPECT_FALSE(a.pub.is_zero());
}

DiscoKey LowOrderFromBytes(std::initializer_list<std::pair<int, uint8_t>> set, uint8_t fill = 0) {
  DiscoKey k;
  k.bytes.fill(fill);
  for (auto [i, v] : set) {
    k.bytes[i] = v;
  }
  return k;
}

TEST(ValidatePeerKeyTest, RejectsZeroAndLowOrderPoints) {
  DiscoKey zero;
  EXPECT_TRUE(zero.is_zero());
  absl::Status s = ValidatePeerKey(zero);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("all zero"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(FormatDiscoKey(zero)));

  const DiscoKey low_order[] = {
      LowOrderFromBytes({{0, 0x01}}),                    // u = 1
      LowOrderFromBytes({{31, 0x80}}),                   // u = 0 with the ignored top bit set
      LowOrderFromBytes({{0, 0xec}, {31, 0x7f}}, 0xff),  // u = p - 1
      LowOrderFromBytes({{0, 0xed}, {31, 0x7f}}, 0xff),  // u = p (= 0)
      LowOrderFromBytes({{0, 0xee}, {31, 0x7f}}, 0xff),  // u = p + 1 (= 1)
  };
  // The two points of order 8, the cases the check exists for.
  const char* const order8[] = {
      "discokey:e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "discokey:5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  };
  for (const char* text : order8) {
    absl::StatusOr<DiscoKey> k = ParseDiscoKey(text);
    ASSERT_TRUE(k.ok()) << text;
    EXPECT_FALSE(ValidatePeerKey(*k).ok()) << text;
  }
  for (const DiscoKey& k : low_order) {
    absl::Status st = ValidatePeerKey(k);
    EXPECT_FALSE(st.ok()) << FormatDiscoKey(k);
    EXPECT_THAT(std::string(st.message()), HasSubstr(FormatDiscoKey(k)));
  }
  EXPECT_THAT(std::string(ValidatePeerKey(low_order[0]).message()), HasSubstr("low-order"));
  // u = 9 is the base point: fine.
  EXPECT_TRUE(ValidatePeerKey(LowOrderFromBytes({{0, 0x09}})).ok());
}

TEST(SortedPairTest, SortsBytewise) {
  DiscoKey one = LowOrderFromBytes({{0, 0x01}});
  DiscoKey two = LowOrderFromBytes({{0, 0x02}});
  EXPECT_EQ(SortedPair(one, two)[0], one);
  EXPECT_EQ(SortedPair(two, one)[0], one);
  EXPECT_EQ(SortedPair(two, one)[1], two);
  // Bytewise means unsigned and most significant first: 0x80 in byte 0 beats 0x7f everywhere else.
  DiscoKey hi = LowOrderFromBytes({{0, 0x80}});
  DiscoKey lo = LowOrderFromBytes({{0, 0x7f}}, 0xff);
  EXPECT_EQ(SortedPair(hi, lo)[0], lo);
  EXPECT_EQ(SortedPair(one, one)[0], one);
  EXPECT_EQ(SortedPair(one, one)[1], one);
}

}  // namespace
}  // namespace dprelay
