// The fast path's header test and header copy: the SSE2 variant (the one x86 runs) and the
// portable one agree with each other and with the rules they implement, on a valid relay
// frame and on every single-byte change to its headers and on every length.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/fast_match.h"
#include "dataplane/worker_inl.h"
#include "tests/testutil/packet_builder.h"

namespace dprelay::testing {
bool ScalarMatches(uint32_t local_ip_be, uint16_t relay_port_be, const uint8_t* p, uint32_t len);
void ScalarCopy(const uint8_t* src, uint8_t* dst);
}  // namespace dprelay::testing

namespace dprelay {
namespace {

const uint32_t kRelay = htonl(testing::Ip(10, 77, 0, 1));
const uint16_t kPort = htons(40000);

// The rules, written out plainly: what both variants must compute.
bool Expected(const std::vector<uint8_t>& f, uint32_t len) {
  if (len < 50) {
    return false;
  }
  auto be16 = [&](size_t at) { return static_cast<uint32_t>(f[at] << 8 | f[at + 1]); };
  uint32_t dst;
  std::memcpy(&dst, &f[30], 4);
  uint16_t dport;
  std::memcpy(&dport, &f[36], 2);
  return be16(12) == 0x0800 && f[14] == 0x45 && (be16(20) & 0x3fff) == 0 && f[23] == 17 &&
         be16(16) == len - 14 && be16(38) == len - 34 && dst == kRelay && dport == kPort;
}

std::vector<uint8_t> RelayFrame() {
  testing::Frame f;
  f.src_ip = testing::Ip(10, 77, 0, 11);
  f.dst_ip = testing::Ip(10, 77, 0, 1);
  f.src_port = 5001;
  f.dst_port = 40000;
  f.frag = 0x4000;
  f.payload.assign(40, 0);
  std::vector<uint8_t> frame = f.Build();
  frame.resize(2048, 0xee);  // what follows in the mbuf's data room
  return frame;
}

TEST(FastMatchTest, BothVariantsFollowTheRulesOnEveryHeaderByteChange) {
  const FastMatch sse(kRelay, kPort);
  const std::vector<uint8_t> good = RelayFrame();
  const uint32_t len = 14 + 20 + 8 + 40;
  ASSERT_TRUE(Expected(good, len));
  ASSERT_TRUE(sse.Matches(good.data(), len));
  int accepted = 0, refused = 0;
  for (size_t at = 0; at < 50; ++at) {
    for (int v = 0; v < 256; v += (at < 40 ? 1 : 37)) {
      std::vector<uint8_t> f = good;
      f[at] = static_cast<uint8_t>(v);
      const bool want = Expected(f, len);
      EXPECT_EQ(sse.Matches(f.data(), len), want) << "byte " << at << " = " << v;
      EXPECT_EQ(testing::ScalarMatches(kRelay, kPort, f.data(), len), want)
          << "byte " << at << " = " << v;
      (want ? accepted : refused)++;
    }
  }
  EXPECT_GT(accepted, 200);  // bytes the test ignores (TOS, ID, TTL, DF, source, checksums)
  EXPECT_GT(refused, 4000);  // every other header byte: 255 wrong values each
  for (uint32_t l = 0; l < 200; ++l) {
    const bool want = Expected(good, l);
    EXPECT_EQ(sse.Matches(good.data(), l), want) << "len " << l;
    EXPECT_EQ(testing::ScalarMatches(kRelay, kPort, good.data(), l), want) << "len " << l;
  }
}

TEST(FastMatchTest, BothHeaderCopiesWriteExactlyTheTemplate) {
  uint8_t tmpl[64], a[64], b[64];
  for (int i = 0; i < 64; ++i) {
    tmpl[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  std::memset(a, 0xcc, sizeof(a));
  std::memset(b, 0xcc, sizeof(b));
  HeaderRegs::Load(tmpl).Store(a);
  testing::ScalarCopy(tmpl, b);
  EXPECT_EQ(0, std::memcmp(a, tmpl, kV4HeaderLen));
  EXPECT_EQ(0, std::memcmp(b, tmpl, kV4HeaderLen));
  for (size_t i = kV4HeaderLen; i < sizeof(a); ++i) {
    EXPECT_EQ(a[i], 0xcc) << i;  // nothing past the 42 bytes
    EXPECT_EQ(b[i], 0xcc) << i;
  }
}

// The worker's IPv4 header checksum test (a modulo instead of folds) against RFC 1071 written
// out: every correct header passes, and every single-bit change, anywhere, fails.
TEST(Ipv4HeaderChecksumTest, AgreesWithRfc1071OnRandomHeadersAndEverySingleBitChange) {
  auto rfc1071 = [](const uint8_t* h) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += uint32_t{h[i]} << 8 | h[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
  };
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245 + 12345; };
  for (int n = 0; n < 2000; ++n) {
    uint8_t h[20];
    for (uint8_t& b : h) b = static_cast<uint8_t>(next() >> 16);
    h[0] = 0x45;
    h[10] = h[11] = 0;
    const uint16_t c = static_cast<uint16_t>(~rfc1071(h));
    h[10] = static_cast<uint8_t>(c >> 8), h[11] = static_cast<uint8_t>(c);
    ASSERT_EQ(rfc1071(h), 0xffff);
    ASSERT_TRUE(worker_internal::Ipv4HeaderChecksumOk(h)) << n;
    for (int bit = 0; bit < 160; ++bit) {
      h[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      ASSERT_EQ(worker_internal::Ipv4HeaderChecksumOk(h), rfc1071(h) == 0xffff) << n << " " << bit;
      h[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    }
  }
}

}  // namespace
}  // namespace dprelay
