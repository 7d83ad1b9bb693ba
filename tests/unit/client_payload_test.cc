#include <cstdint>
#include <string>
#include <vector>

#include "client/payload.h"
#include "gtest/gtest.h"
#include "proto/key.h"

namespace dprelay::client {
namespace {

DiscoKey KeyOf(uint8_t fill) {
  DiscoKey k;
  k.bytes.fill(fill);
  return k;
}

TEST(PayloadTest, RoundTripsSequenceNumber) {
  const DiscoKey sender = KeyOf(0x11);
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{1} << 40, ~uint64_t{0}}) {
    for (size_t size : {size_t{8}, size_t{9}, size_t{100}, size_t{1400}}) {
      std::vector<uint8_t> p = MakePayload(seq, sender, size);
      ASSERT_EQ(p.size(), size);
      absl::StatusOr<uint64_t> got = VerifyPayload(p, sender);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, seq);
    }
  }
}

TEST(PayloadTest, StartsWithBigEndianSequence) {
  std::vector<uint8_t> p = MakePayload(0x0102030405060708ull, KeyOf(1), 16);
  EXPECT_EQ(std::vector<uint8_t>(p.begin(), p.begin() + 8),
            (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(PayloadTest, PatternDependsOnSequenceAndSender) {
  const std::vector<uint8_t> a = MakePayload(7, KeyOf(0x11), 64);
  const std::vector<uint8_t> b = MakePayload(8, KeyOf(0x11), 64);
  const std::vector<uint8_t> c = MakePayload(7, KeyOf(0x22), 64);
  EXPECT_NE(std::vector<uint8_t>(a.begin() + 8, a.end()),
            std::vector<uint8_t>(b.begin() + 8, b.end()));
  EXPECT_NE(a, c);
}

TEST(PayloadTest, DetectsEveryFlippedBitPastTheSequence) {
  const DiscoKey sender = KeyOf(0x33);
  const std::vector<uint8_t> good = MakePayload(42, sender, 100);
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      absl::StatusOr<uint64_t> got = VerifyPayload(bad, sender);
      EXPECT_FALSE(got.ok()) << "flip at byte " << i << " bit " << bit;
    }
  }
}

TEST(PayloadTest, NamesTheFirstBadOffset) {
  const DiscoKey sender = KeyOf(0x44);
  std::vector<uint8_t> p = MakePayload(3, sender, 64);
  p[20] ^= 0xff;
  absl::StatusOr<uint64_t> got = VerifyPayload(p, sender);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(std::string(got.status().message()).find("offset 20"), std::string::npos)
      << got.status();
}

TEST(PayloadTest, RejectsOtherSenderShortAndTruncatedPayloads) {
  const std::vector<uint8_t> p = MakePayload(9, KeyOf(0x55), 64);
  EXPECT_FALSE(VerifyPayload(p, KeyOf(0x56)).ok());
  EXPECT_FALSE(VerifyPayload(std::vector<uint8_t>(5, 0), KeyOf(0x55)).ok());
  // A truncated payload is still a correct prefix: the length is not part of the check.
  EXPECT_TRUE(VerifyPayload(std::span<const uint8_t>(p.data(), 32), KeyOf(0x55)).ok());
}

TEST(PayloadTest, RawPayloadIsRecognisableAndNeverVerifies) {
  const std::vector<uint8_t> raw = MakeRawPayload(12, 64);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_EQ(std::string(raw.begin(), raw.begin() + 19), "dprelay-raw seq=12 ");
  EXPECT_FALSE(VerifyPayload(raw, KeyOf(0x11)).ok());
  EXPECT_GE(MakeRawPayload(123456, 0).size(), kPayloadSeqLen);
}

}  // namespace
}  // namespace dprelay::client
