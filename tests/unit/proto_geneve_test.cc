#include <array>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/geneve.h"
#include "proto_vectors.h"

namespace dprelay {
namespace {

// What each geneve_* line of cleartext_messages.txt holds (PROTOCOL.md §8.2).
const std::map<std::string, GeneveHeader>& ExpectedHeaders() {
  static const auto* expected = new std::map<std::string, GeneveHeader>{
      {"geneve_ver3_disco_ctrl_vni_ffffff",
       {.version = 3, .control = true, .protocol = kGeneveProtocolDisco, .vni = 0xFFFFFF}},
      {"geneve_handshake_vni1",
       {.version = 0, .control = true, .protocol = kGeneveProtocolDisco, .vni = 1}},
      {"geneve_wireguard_vni1",
       {.version = 0, .control = false, .protocol = kGeneveProtocolWireGuard, .vni = 1}},
      {"geneve_disco_data_vni1",
       {.version = 0, .control = false, .protocol = kGeneveProtocolDisco, .vni = 1}},
  };
  return *expected;
}

void ExpectHeader(const GeneveHeader& got, const GeneveHeader& want) {
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.control, want.control);
  EXPECT_EQ(got.protocol, want.protocol);
  EXPECT_EQ(got.vni, want.vni);
}

TEST(GeneveTest, VectorsDecodeAndReencode) {
  int seen = 0;
  for (const auto& [name, bytes] : testing::LoadCleartextVectors()) {
    if (name.rfind("geneve_", 0) != 0) {
      continue;
    }
    SCOPED_TRACE(name);
    ++seen;
    auto it = ExpectedHeaders().find(name);
    ASSERT_NE(it, ExpectedHeaders().end()) << "vector without an expectation";
    ASSERT_EQ(bytes.size(), kGeneveHeaderLen);
    absl::StatusOr<GeneveHeader> h = DecodeGeneve(bytes);
    ASSERT_TRUE(h.ok()) << h.status();
    ExpectHeader(*h, it->second);
    EXPECT_EQ(GeneveIsControl(bytes.data()), it->second.control);
    EXPECT_EQ(GeneveProtocol(bytes.data()), it->second.protocol);
    EXPECT_EQ(GeneveVni(bytes.data()), it->second.vni);

    std::array<uint8_t, kGeneveHeaderLen> out{};
    ASSERT_TRUE(EncodeGeneve(it->second, out).ok());
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), bytes);
    EXPECT_FALSE(LooksLikeStun(bytes));
  }
  EXPECT_EQ(seen, static_cast<int>(ExpectedHeaders().size()));
}

TEST(GeneveTest, EncodeRefusals) {
  std::array<uint8_t, 8> out{};
  GeneveHeader h{.version = 0, .control = false, .protocol = kGeneveProtocolDisco, .vni = 1};
  EXPECT_TRUE(EncodeGeneve(h, out).ok());
  h.version = 4;
  EXPECT_FALSE(EncodeGeneve(h, out).ok());
  h.version = 0;
  h.vni = 0;
  EXPECT_FALSE(EncodeGeneve(h, out).ok());
  h.vni = kMaxVni + 1;
  EXPECT_FALSE(EncodeGeneve(h, out).ok());
  h.vni = 0xFFFFFFFF;
  EXPECT_FALSE(EncodeGeneve(h, out).ok());
  h.vni = kMaxVni;
  EXPECT_TRUE(EncodeGeneve(h, out).ok());
  EXPECT_FALSE(EncodeGeneve(h, std::span<uint8_t>(out).first(7)).ok());
  // A longer buffer is fine; only the first 8 bytes are written.
  std::array<uint8_t, 12> big{};
  big.fill(0xAA);
  EXPECT_TRUE(EncodeGeneve(h, big).ok());
  EXPECT_EQ(big[8], 0xAA);
}

TEST(GeneveTest, DecodeTruncated) {
  std::array<uint8_t, 8> b = {0x00, 0x80, 0x7a, 0x11, 0x00, 0x00, 0x01, 0x00};
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(DecodeGeneve(std::span<const uint8_t>(b).first(n)).ok()) << n;
  }
  EXPECT_TRUE(DecodeGeneve(b).ok());
}

TEST(GeneveTest, DecodeIgnoresOptLenCriticalReservedAndByte7) {
  // Version 2, Opt Len 0x3f, control + C + all reserved bits, unknown protocol, byte 7 set.
  std::vector<uint8_t> b = {0xbf, 0xff, 0x12, 0x34, 0xab, 0xcd, 0xef, 0xff, 0x99};
  absl::StatusOr<GeneveHeader> h = DecodeGeneve(b);
  ASSERT_TRUE(h.ok());
  ExpectHeader(*h, {.version = 2, .control = true, .protocol = 0x1234, .vni = 0xabcdef});
  b[1] = 0x7f;  // everything but the control bit
  h = DecodeGeneve(b);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->control);
  // VNI 0 decodes (the lookup rejects it), it just cannot be encoded.
  std::vector<uint8_t> zero(8, 0);
  h = DecodeGeneve(zero);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->vni, 0u);
}

std::vector<uint8_t> StunBindingRequest() {
  std::vector<uint8_t> b = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
  for (uint8_t i = 0; i < 12; ++i) {
    b.push_back(i);  // transaction ID
  }
  return b;
}

TEST(StunTest, Classification) {
  std::vector<uint8_t> b = StunBindingRequest();
  EXPECT_TRUE(LooksLikeStun(b));
  EXPECT_TRUE(LooksLikeStun(std::span<const uint8_t>(b).first(20)));
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_FALSE(LooksLikeStun(std::span<const uint8_t>(b).first(n))) << n;
  }
  b.push_back(0);
  EXPECT_TRUE(LooksLikeStun(b));
  b[0] = 0x3f;  // low bits of b[0] are message type bits; only the top two must be zero
  EXPECT_TRUE(LooksLikeStun(b));

  for (int top : {0x40, 0x80, 0xc0}) {
    std::vector<uint8_t> t = StunBindingRequest();
    t[0] = static_cast<uint8_t>(top);
    EXPECT_FALSE(LooksLikeStun(t)) << top;
  }
  for (uint8_t b1 : {0x00, 0x80, 0x02, 0x11}) {
    std::vector<uint8_t> t = StunBindingRequest();
    t[1] = b1;
    EXPECT_FALSE(LooksLikeStun(t)) << int{b1};
  }
  for (size_t i = 4; i < 8; ++i) {
    std::vector<uint8_t> t = StunBindingRequest();
    t[i] ^= 0x01;
    EXPECT_FALSE(LooksLikeStun(t)) << i;
  }
}

}  // namespace
}  // namespace dprelay
