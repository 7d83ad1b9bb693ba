#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/ipc.h"
#include "proto/wire.h"
#include "proto_describe.h"

namespace dprelay::ipc {
namespace {

using ::dprelay::testing::Describe;
using ::testing::HasSubstr;

AddrPort Ap(std::string_view text) {
  absl::StatusOr<AddrPort> ap = ParseAddrPort(text);
  EXPECT_TRUE(ap.ok()) << text;
  return ap.value_or(AddrPort{});
}

DiscoKey KeyOf(uint8_t fill) {
  DiscoKey k;
  k.bytes.fill(fill);
  return k;
}

SharedKey SharedOf(uint8_t fill) {
  SharedKey k;
  k.bytes.fill(fill);
  return k;
}

// One or more instances of every message type.
// Every counter and drop with its own value, and the extremes.
StatsReply SampleStats() {
  StatsReply m;
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    m.counters.counters[i] = i + 1;
  }
  m.counters.drops[0] = ~uint64_t{0};
  m.counters[DataplaneCounter::kWorkerCycles] = uint64_t{1} << 40;
  m.counters.drops[static_cast<size_t>(DropReason::kUnknownVni)] = 5;
  m.workers = {{.rx_packets = 1, .tx_packets = 2, .cycles = ~uint64_t{0}, .busy_cycles = 4}, {}};
  m.rings = {{.ring = 0, .count = 5, .capacity = 2047},
             {.ring = static_cast<uint8_t>(kNumRings - 1), .count = 0, .capacity = ~uint32_t{0}}};
  m.nic = {{.port = 0, .name = "rx_good_packets", .value = 9},
           {.port = 65535, .name = "", .value = ~uint64_t{0}}};
  return m;
}

std::vector<Message> SampleMessages() {
  return {
      Hello{.relay_addrs = {Ap("192.0.2.1:41641"), Ap("[2001:db8::1]:41641")}, .capacity = 1 << 20},
      Hello{},
      InstallSession{.vni = 0xFFFFFF,
                     .client_keys = {KeyOf(0x11), KeyOf(0x22)},
                     .shared = {SharedOf(0xA1), SharedOf(0xB2)},
                     .server_key = KeyOf(0x33),
                     .bind_lifetime_ns = 30'000'000'000,
                     .steady_state_lifetime_ns = -1,
                     .bound = {Ap("[::ffff:1.2.3.4]:1"), AddrPort{}},
                     .lamport_id = ~uint64_t{0},
                     .allocated_at_unix_ns = 1'700'000'000'000'000'000},
      InstallSession{.vni = 1,
                     .client_keys = {},
                     .shared = {},
                     .server_key = {},
                     .bind_lifetime_ns = 0,
                     .steady_state_lifetime_ns = 0,
                     .bound = {Ap("10.0.0.1:65535"), Ap("[fe80::1]:0")}},
      RemoveSession{.vni = 42},
      InstallResult{.vni = 7, .ok = true, .error = ""},
      InstallResult{.vni = 8, .ok = false, .error = "VNI 8 already installed"},
      LegBound{.vni = 9, .leg = 1, .addr = Ap("198.51.100.7:3478")},
      LegBound{.vni = 9, .leg = 0, .addr = Ap("[2001:db8::2]:9")},
      SessionExpired{.vni = 0xABCDEF},
      StatsRequest{},
      SampleStats(),
      StatsReply{},
      DumpRequest{.request_id = 3, .from_vni = 0xFFFFFF},
      DumpReply{},
      DumpReply{.request_id = 4,
                .sessions = {ipc::SessionRecord{.vni = 5,
                                                .client_keys = {KeyOf(0x11), KeyOf(0x22)},
                                                .bound = {Ap("192.0.2.1:1"), AddrPort{}},
                                                .lamport_id = 1001,
                                                .allocated_at_unix_ns = -5,
                                                .packets = {1, ~uint64_t{0}},
                                                .bytes = {2, 3},
                                                .handshake_rtt_ns = {250'000, 0},
                                                .idle_ns = {4, ~uint64_t{0} - 1}},
                             ipc::SessionRecord{.vni = 6}},
                .next_vni = 7},
      Advertised{},
      Advertised{.addrs = {Ap("198.51.100.50:40000"), Ap("[2001:db8::50]:40000")}},
  };
}

TEST(IpcTest, RoundTripEveryMessage) {
  for (const Message& m : SampleMessages()) {
    SCOPED_TRACE(Describe(m));
    std::vector<uint8_t> b = Encode(m);
    ASSERT_GE(b.size(), kHeaderLen);
    EXPECT_EQ(LoadBe16(b.data()), kVersion);
    EXPECT_EQ(LoadBe16(b.data() + 2), m.index() + 1);
    EXPECT_EQ(LoadBe32(b.data() + 4), b.size() - kHeaderLen);
    absl::StatusOr<Message> back = Decode(b);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->index(), m.index());
    EXPECT_EQ(Describe(*back), Describe(m));
    EXPECT_EQ(Encode(*back), b);
  }
}

TEST(IpcTest, TypeNumbersAreStable) {
  const std::pair<Message, Type> pairs[] = {
      {Hello{}, Type::kHello},
      {InstallSession{}, Type::kInstallSession},
      {RemoveSession{}, Type::kRemoveSession},
      {InstallResult{}, Type::kInstallResult},
      {LegBound{}, Type::kLegBound},
      {SessionExpired{}, Type::kSessionExpired},
      {StatsRequest{}, Type::kStatsRequest},
      {StatsReply{}, Type::kStatsReply},
      {DumpRequest{}, Type::kDumpRequest},
      {DumpReply{}, Type::kDumpReply},
      {Advertised{}, Type::kAdvertised},
  };
  for (const auto& [m, t] : pairs) {
    EXPECT_EQ(LoadBe16(Encode(m).data() + 2), static_cast<uint16_t>(t));
  }
  EXPECT_EQ(Encode(StatsRequest{}).size(), kHeaderLen);
  EXPECT_EQ(Encode(InstallSession{}).size(),
            kHeaderLen + 4 + 5 * size_t{32} + 16 + 2 * size_t{19} + 16);
  EXPECT_EQ(Encode(DumpReply{}).size(), kHeaderLen + 12);
}

TEST(IpcTest, AFullDumpPageFitsOneMessage) {
  DumpReply page{.request_id = 1, .next_vni = 0xFFFFFF};
  page.sessions.resize(kDumpPageSessions);
  for (size_t i = 0; i < page.sessions.size(); ++i) {
    page.sessions[i].vni = static_cast<uint32_t>(i + 1);
    page.sessions[i].bound = {Ap("[2001:db8::1]:1"), Ap("192.0.2.1:2")};
  }
  std::vector<uint8_t> b = Encode(page);
  EXPECT_LE(b.size(), kMaxMessageLen);
  absl::StatusOr<Message> back = Decode(b);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::get<DumpReply>(*back).sessions.size(), kDumpPageSessions);
  // A count that cannot fit in the remaining bytes is refused before anything is allocated.
  std::vector<uint8_t> lying = Encode(DumpReply{});
  StoreBe32(lying.data() + kHeaderLen + 8, 1000);
  EXPECT_FALSE(Decode(lying).ok());
}

std::vector<uint8_t> WithBodyLen(std::vector<uint8_t> b) {
  StoreBe32(b.data() + 4, static_cast<uint32_t>(b.size() - kHeaderLen));
  return b;
}

TEST(IpcTest, TruncatedAtEveryLength) {
  for (const Message& m : SampleMessages()) {
    SCOPED_TRACE(Describe(m));
    std::vector<uint8_t> full = Encode(m);
    for (size_t len = 0; len < full.size(); ++len) {
      std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      EXPECT_FALSE(Decode(cut).ok()) << len;
      if (len >= kHeaderLen) {
        // Header patched to agree: the fields themselves must be found short.
        absl::StatusOr<Message> r = Decode(WithBodyLen(cut));
        EXPECT_FALSE(r.ok()) << len;
        if (!r.ok()) {
          EXPECT_THAT(std::string(r.status().message()), HasSubstr("ipc "));
        }
      }
    }
    // One byte too many is refused too, with or without a matching header.
    std::vector<uint8_t> longer = full;
    longer.push_back(0);
    EXPECT_FALSE(Decode(longer).ok());
    absl::StatusOr<Message> r = Decode(WithBodyLen(longer));
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("trailing"));
  }
}

TEST(IpcTest, BadHeaders) {
  std::vector<uint8_t> good = Encode(RemoveSession{.vni = 1});
  ASSERT_TRUE(Decode(good).ok());
  for (uint16_t version : {0, kVersion - 1, kVersion + 1, 0x0100, 0xFFFF}) {
    std::vector<uint8_t> b = good;
    StoreBe16(b.data(), version);
    absl::StatusOr<Message> r = Decode(b);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("version"));
  }
  for (uint16_t type : {0, 12, 0x0100, 0xFFFF}) {
    std::vector<uint8_t> b = good;
    StoreBe16(b.data() + 2, type);
    absl::StatusOr<Message> r = Decode(b);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("unknown message type"));
  }
  for (uint32_t len : {0u, 3u, 5u, 0xFFFFFFFFu}) {
    std::vector<uint8_t> b = good;
    StoreBe32(b.data() + 4, len);
    EXPECT_FALSE(Decode(b).ok()) << len;
  }
  std::vector<uint8_t> huge(kMaxMessageLen + 1, 0);
  StoreBe16(huge.data(), kVersion);
  StoreBe16(huge.data() + 2, static_cast<uint16_t>(Type::kStatsReply));
  huge = WithBodyLen(huge);
  absl::StatusOr<Message> r = Decode(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("exceeds"));
}

// Byte offset of a field in an encoded message body (after the 8-byte header).
constexpr size_t kBody = kHeaderLen;

TEST(IpcTest, BadFieldValues) {
  // Bool other than 0/1.
  std::vector<uint8_t> b = Encode(InstallResult{.vni = 1, .ok = true, .error = "x"});
  b[kBody + 4] = 2;
  absl::StatusOr<Message> r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("ok"));

  // Leg other than 0/1.
  b = Encode(LegBound{.vni = 1, .leg = 1, .addr = Ap("1.2.3.4:5")});
  b[kBody + 4] = 2;
  EXPECT_FALSE(Decode(b).ok());

  // Address family not 0/4/6, and nonzero bytes past the family's length.
  b = Encode(LegBound{.vni = 1, .leg = 0, .addr = Ap("1.2.3.4:5")});
  const size_t addr = kBody + 5;
  ASSERT_EQ(b[addr], 4);
  b[addr] = 5;
  r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("family"));
  b[addr] = 4;
  b[addr + 1 + 4] = 1;
  EXPECT_FALSE(Decode(b).ok());
  b[addr] = 6;  // the same bytes are a fine IPv6 address
  EXPECT_TRUE(Decode(b).ok());
  b[addr] = 0;
  EXPECT_FALSE(Decode(b).ok());
  b = Encode(LegBound{.vni = 1, .leg = 0, .addr = AddrPort{}});
  EXPECT_TRUE(Decode(b).ok());
}

TEST(IpcTest, BoundedStringsAndCounts) {
  // Encode cuts strings at kMaxStringLen; Decode refuses longer ones.
  InstallResult long_error{.vni = 1, .ok = false, .error = std::string(kMaxStringLen + 10, 'e')};
  absl::StatusOr<Message> r = Decode(Encode(long_error));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<InstallResult>(*r).error.size(), kMaxStringLen);

  std::vector<uint8_t> b = Encode(InstallResult{.vni = 1, .ok = false, .error = ""});
  b.resize(b.size() - 2);
  ByteWriter w(&b);
  w.U16(static_cast<uint16_t>(kMaxStringLen + 1));
  w.Zeros(kMaxStringLen + 1);
  r = Decode(WithBodyLen(b));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("exceeds the limit"));

  // A count that the remaining bytes cannot hold fails before allocating anything.
  b = Encode(StatsReply{});
  StoreBe32(b.data() + kBody + 2 + 8 * kNumDataplaneCounters + 2 + 8 * kNumDropReasons + 2 + 1,
            0xFFFFFFFF);
  r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("count"));
  b = Encode(Hello{});
  StoreBe16(b.data() + kBody, 0xFFFF);
  EXPECT_FALSE(Decode(b).ok());
}

TEST(IpcTest, LargeStatsReplyFits) {
  StatsReply big = SampleStats();
  for (int i = 0; i < 1000; ++i) {
    big.nic.push_back({.port = 1, .name = "rx_q" + std::to_string(i) + "_packets", .value = 7});
  }
  std::vector<uint8_t> b = Encode(big);
  ASSERT_LE(b.size(), kMaxMessageLen);
  absl::StatusOr<Message> r = Decode(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(std::get<StatsReply>(*r).counters, big.counters);
  EXPECT_EQ(std::get<StatsReply>(*r).nic, big.nic);
  EXPECT_EQ(std::get<StatsReply>(*r).workers, big.workers);
  EXPECT_EQ(std::get<StatsReply>(*r).rings, big.rings);
}

TEST(IpcTest, StatsReplyRingOutsideTheCatalogueIsRefused) {
  StatsReply m;
  m.rings = {{.ring = static_cast<uint8_t>(kNumRings), .count = 0, .capacity = 1}};
  absl::StatusOr<Message> r = Decode(Encode(m));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("field rings.ring"));
}

// The counters travel by catalogue position: a reply from a build with another catalogue is
// refused by name instead of being misread.
TEST(IpcTest, StatsReplyOfAnotherCatalogueIsRefused) {
  std::vector<uint8_t> b = Encode(StatsReply{});
  StoreBe16(b.data() + kBody, static_cast<uint16_t>(kNumDataplaneCounters - 1));
  absl::StatusOr<Message> r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("field counters.count: " + std::to_string(kNumDataplaneCounters - 1) +
                        " values, but this build's catalogue has " +
                        std::to_string(kNumDataplaneCounters)));
}

}  // namespace
}  // namespace dprelay::ipc
