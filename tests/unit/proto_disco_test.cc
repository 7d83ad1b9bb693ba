#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/disco.h"
#include "proto/wire.h"
#include "proto_describe.h"
#include "proto_vectors.h"

namespace dprelay {
namespace {

using ::dprelay::testing::Describe;
using ::testing::HasSubstr;

// K(i:v,...): 32 zero bytes except the listed ones (the vector files' notation).
DiscoKey K(std::initializer_list<std::pair<int, uint8_t>> set) {
  DiscoKey k;
  for (auto [i, v] : set) {
    k.bytes[i] = v;
  }
  return k;
}

TxId TxId01To0c() {
  TxId t;
  for (size_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<uint8_t>(i + 1);
  }
  return t;
}

AddrPort Ap(std::string_view text) {
  absl::StatusOr<AddrPort> ap = ParseAddrPort(text);
  EXPECT_TRUE(ap.ok()) << text;
  return ap.value_or(AddrPort{});
}

BindCommon CommonValues() {
  BindCommon m;
  m.vni = 1;
  m.generation = 2;
  m.remote_key = K({{1, 1}, {2, 2}, {30, 30}, {31, 31}});
  for (size_t i = 0; i < m.challenge.size(); ++i) {
    m.challenge[i] = static_cast<uint8_t>(i);
  }
  return m;
}

template <typename T>
T BindAs() {
  T m;
  static_cast<BindCommon&>(m) = CommonValues();
  return m;
}

std::array<DiscoKey, 2> RequestClients() {
  return {K({{1, 1}, {2, 2}, {3, 3}, {30, 0x1e}, {31, 0x1f}}),
          K({{1, 1}, {2, 2}, {4, 4}, {30, 0x1e}, {31, 0x1f}})};
}

UdpRelayEndpoint EndpointValues() {
  UdpRelayEndpoint e;
  e.server_disco = K({{1, 1}, {2, 2}, {30, 0x1e}, {31, 0x1f}});
  e.client_disco = RequestClients();
  e.lamport_id = 123;
  e.vni = 456;
  e.bind_lifetime = absl::Seconds(1);
  e.steady_state_lifetime = absl::Minutes(1);
  e.addr_ports = {Ap("1.2.3.4:567"), Ap("[2001::3456]:789")};
  return e;
}

// The message each line of cleartext_messages.txt encodes (see the file's comments).
std::map<std::string, DiscoMessage> ExpectedMessages() {
  std::map<std::string, DiscoMessage> m;
  m["ping_txid_01_0c"] = Ping{.tx_id = TxId01To0c()};
  m["ping_padding_3"] = Ping{.tx_id = TxId01To0c(), .padding = 3};
  m["pong_2.3.4.5:1234"] = Pong{.tx_id = TxId01To0c(), .src = Ap("2.3.4.5:1234")};
  m["pong_[fed0::12]:6666"] = Pong{.tx_id = TxId01To0c(), .src = Ap("[fed0::12]:6666")};
  m["callmemaybe_empty"] = CallMeMaybe{};
  m["callmemaybe_1.2.3.4:567_[2001::3456]:789"] =
      CallMeMaybe{{Ap("1.2.3.4:567"), Ap("[2001::3456]:789")}};
  m["bind"] = BindAs<BindUdpRelayEndpoint>();
  m["challenge"] = BindAs<BindUdpRelayEndpointChallenge>();
  m["answer"] = BindAs<BindUdpRelayEndpointAnswer>();
  m["allocate_request"] =
      AllocateUdpRelayEndpointRequest{.client_disco = RequestClients(), .generation = 1};
  m["callmemaybevia"] = CallMeMaybeVia{EndpointValues()};
  m["allocate_response"] =
      AllocateUdpRelayEndpointResponse{.generation = 1, .endpoint = EndpointValues()};
  return m;
}

TEST(DiscoVectorsTest, EveryLineDecodesAndReencodes) {
  std::map<std::string, DiscoMessage> expected = ExpectedMessages();
  size_t seen = 0;
  for (const auto& [name, bytes] : testing::LoadCleartextVectors()) {
    if (name.rfind("geneve_", 0) == 0) {
      continue;  // proto_geneve_test covers those
    }
    SCOPED_TRACE(name);
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << "vector line without an expectation";
    ++seen;
    absl::StatusOr<DiscoMessage> msg = ParseDisco(bytes);
    ASSERT_TRUE(msg.ok()) << msg.status();
    EXPECT_EQ(msg->index(), it->second.index());
    EXPECT_EQ(Describe(*msg), Describe(it->second));
    EXPECT_EQ(EncodeDisco(it->second), bytes);
    EXPECT_EQ(EncodeDisco(*msg), bytes);
  }
  EXPECT_EQ(seen, expected.size());
}

TEST(DiscoVectorsTest, DurationsAreNanosecondsBigEndian) {
  CallMeMaybeVia via{EndpointValues()};
  via.endpoint.bind_lifetime = absl::Seconds(30);
  via.endpoint.steady_state_lifetime = absl::Minutes(5);
  std::vector<uint8_t> b = EncodeDisco(via);
  EXPECT_EQ(LoadBe64(b.data() + 2 + 108), 30'000'000'000u);
  EXPECT_EQ(LoadBe64(b.data() + 2 + 116), 300'000'000'000u);
  // Negative and sub-second values survive the trip.
  via.endpoint.bind_lifetime = absl::Nanoseconds(-5);
  via.endpoint.steady_state_lifetime = absl::Nanoseconds(1);
  absl::StatusOr<DiscoMessage> back = ParseDisco(EncodeDisco(via));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Describe(*back), Describe(via));
}

TEST(DiscoEncodeTest, BindMessageIntoSpanMatchesEncodeDisco) {
  std::map<std::string, DiscoMessage> expected = ExpectedMessages();
  constexpr std::pair<const char*, DiscoType> kTypes[] = {
      {"bind", DiscoType::kBindUdpRelayEndpoint},
      {"challenge", DiscoType::kBindUdpRelayEndpointChallenge},
      {"answer", DiscoType::kBindUdpRelayEndpointAnswer}};
  for (const auto& [name, type] : kTypes) {
    std::array<uint8_t, kBindMessageLen> out;
    out.fill(0xEE);
    EncodeBindMessage(type, CommonValues(), out);
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), EncodeDisco(expected[name])) << name;
  }
}

TEST(DiscoEncodeTest, PingWithNodeKeyAndPadding) {
  Ping p{.tx_id = TxId01To0c(), .node_key = K({{1, 1}, {2, 2}, {30, 30}, {31, 31}})};
  std::vector<uint8_t> b = EncodeDisco(p);
  ASSERT_EQ(b.size(), 46u);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[1], 0x00);
  EXPECT_EQ(b[14 + 1], 0x01);
  EXPECT_EQ(b[14 + 31], 31);
  absl::StatusOr<DiscoMessage> back = ParseDisco(b);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Describe(*back), Describe(p));

  p.padding = 5;
  b = EncodeDisco(p);
  ASSERT_EQ(b.size(), 51u);
  EXPECT_EQ(b.back(), 0);
  back = ParseDisco(b);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Describe(*back), Describe(p));
}

// ---- leniency (PROTOCOL.md §3) ----

std::vector<uint8_t> Vector(const std::string& name) {
  for (auto& [n, bytes] : testing::LoadCleartextVectors()) {
    if (n == name) {
      return bytes;
    }
  }
  ADD_FAILURE() << "no vector " << name;
  return {};
}

DiscoMessage MustParse(const std::vector<uint8_t>& b) {
  absl::StatusOr<DiscoMessage> m = ParseDisco(b);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.value_or(DiscoMessage{});
}

TEST(DiscoLeniencyTest, UnknownTypesAndTooShort) {
  for (int type : {0x00, 0x0a, 0x10, 0x7f, 0x80, 0xff}) {
    std::vector<uint8_t> b(80, 0);
    b[0] = static_cast<uint8_t>(type);
    absl::StatusOr<DiscoMessage> m = ParseDisco(b);
    ASSERT_FALSE(m.ok()) << type;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr("unknown type"));
  }
  EXPECT_FALSE(ParseDisco({}).ok());
  std::vector<uint8_t> one = {0x03};
  EXPECT_FALSE(ParseDisco(one).ok());
}

TEST(DiscoLeniencyTest, BindFamilyIgnoresVersionAndTrailingBytes) {
  for (const char* name : {"bind", "challenge", "answer"}) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> b = Vector(name);
    std::string want = Describe(MustParse(b));
    b[1] = 0x07;
    EXPECT_EQ(Describe(MustParse(b)), want);
    b.insert(b.end(), {1, 2, 3, 4, 5});
    EXPECT_EQ(Describe(MustParse(b)), want);
    b.resize(kBindMessageLen - 1);
    absl::StatusOr<DiscoMessage> m = ParseDisco(b);
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(std::string(m.status().message()), HasSubstr("71 bytes"));
  }
}

TEST(DiscoLeniencyTest, PingNodeKeyAndPaddingSplit) {
  std::vector<uint8_t> b = Vector("ping_txid_01_0c");
  b[1] = 0x09;  // version ignored
  EXPECT_EQ(Describe(MustParse(b)), Describe(Ping{.tx_id = TxId01To0c()}));
  // Fewer than 32 bytes after the TxID: all padding.
  b.resize(14 + 31, 0xAB);
  EXPECT_EQ(Describe(MustParse(b)), Describe(Ping{.tx_id = TxId01To0c(), .padding = 31}));
  // 32 or more: the first 32 are the node key (even if zero), the rest padding.
  b.resize(14 + 32, 0xCD);
  DiscoMessage m = MustParse(b);
  ASSERT_TRUE(std::holds_alternative<Ping>(m));
  ASSERT_TRUE(std::get<Ping>(m).node_key.has_value());
  EXPECT_EQ(std::get<Ping>(m).node_key->bytes[31], 0xCD);
  EXPECT_EQ(std::get<Ping>(m).padding, 0u);
  b.resize(14 + 40, 0);
  m = MustParse(b);
  EXPECT_EQ(std::get<Ping>(m).padding, 8u);
  std::vector<uint8_t> zeros(14 + 32, 0);
  zeros[0] = 0x01;
  m = MustParse(zeros);
  EXPECT_TRUE(std::get<Ping>(m).node_key.has_value());
}

TEST(DiscoLeniencyTest, PongIgnoresVersionAndTrailingBytes) {
  std::vector<uint8_t> b = Vector("pong_2.3.4.5:1234");
  std::string want = Describe(MustParse(b));
  b[1] = 0xff;
  b.push_back(0x42);
  EXPECT_EQ(Describe(MustParse(b)), want);
  DiscoMessage m = MustParse(b);
  EXPECT_TRUE(std::get<Pong>(m).src.ip.is_v4());
}

TEST(DiscoLeniencyTest, CallMeMaybeOddShapesAreEmpty) {
  std::vector<uint8_t> b = Vector("callmemaybe_1.2.3.4:567_[2001::3456]:789");
  ASSERT_EQ(std::get<CallMeMaybe>(MustParse(b)).my_numbers.size(), 2u);
  std::vector<uint8_t> v1 = b;
  v1[1] = 1;
  EXPECT_TRUE(std::get<CallMeMaybe>(MustParse(v1)).my_numbers.empty());
  std::vector<uint8_t> odd = b;
  odd.pop_back();
  EXPECT_TRUE(std::get<CallMeMaybe>(MustParse(odd)).my_numbers.empty());
  odd = b;
  odd.push_back(0);
  EXPECT_TRUE(std::get<CallMeMaybe>(MustParse(odd)).my_numbers.empty());
  std::vector<uint8_t> empty = {0x03, 0x00};
  EXPECT_TRUE(std::get<CallMeMaybe>(MustParse(empty)).my_numbers.empty());
  std::vector<uint8_t> one(2 + 18, 0);
  one[0] = 0x03;
  EXPECT_EQ(std::get<CallMeMaybe>(MustParse(one)).my_numbers.size(), 1u);
}

TEST(DiscoLeniencyTest, RelayTypesWithNonzeroVersionAreEmpty) {
  for (const char* name : {"callmemaybevia", "allocate_request", "allocate_response"}) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> b = Vector(name);
    DiscoMessage want = MustParse(b);
    b[1] = 1;
    for (size_t len : {b.size(), size_t{2}, size_t{3}, size_t{70}}) {
      std::vector<uint8_t> cut(b.begin(),
                               b.begin() + static_cast<std::ptrdiff_t>(std::min(len, b.size())));
      DiscoMessage got = MustParse(cut);
      EXPECT_EQ(got.index(), want.index());
      // Empty means default-constructed.
      std::visit(
          [&](const auto& typed) {
            using T = std::decay_t<decltype(typed)>;
            EXPECT_EQ(Describe(got), Describe(T{}));
          },
          want);
    }
  }
}

TEST(DiscoLeniencyTest, EndpointLengthRules) {
  std::vector<uint8_t> via = Vector("callmemaybevia");
  ASSERT_EQ(via.size(), 2 + 124 + 36u);
  // N = 0 is refused even though 124 % 18 stays aligned.
  std::vector<uint8_t> b(via.begin(), via.begin() + 2 + 124);
  EXPECT_FALSE(ParseDisco(b).ok());
  b.assign(via.begin(), via.begin() + 2 + 124 + 18);
  EXPECT_EQ(std::get<CallMeMaybeVia>(MustParse(b)).endpoint.addr_ports.size(), 1u);
  b.push_back(0);
  absl::StatusOr<DiscoMessage> m = ParseDisco(b);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("CallMeMaybeVia"));

  std::vector<uint8_t> resp = Vector("allocate_response");
  resp.resize(2 + 4 + 124);
  EXPECT_FALSE(ParseDisco(resp).ok());
  resp.resize(2 + 3);
  EXPECT_FALSE(ParseDisco(resp).ok());
}

TEST(DiscoLeniencyTest, RequestBytesPast68Ignored) {
  std::vector<uint8_t> b = Vector("allocate_request");
  std::string want = Describe(MustParse(b));
  b.insert(b.end(), 100, 0x5A);
  EXPECT_EQ(Describe(MustParse(b)), want);
}

TEST(DiscoEncodeTest, EmptyEndpointEncodesButDoesNotParse) {
  CallMeMaybeVia via{EndpointValues()};
  via.endpoint.addr_ports.clear();
  std::vector<uint8_t> b = EncodeDisco(via);
  EXPECT_EQ(b.size(), 2 + kUdpRelayEndpointFixedLen);
  EXPECT_FALSE(ParseDisco(b).ok());
}

// ---- truncation at every length ----

// Whether a message of this type and total length parses (the reference's length rules).
bool ShouldParse(uint8_t type, size_t len) {
  auto endpoint_ok = [](size_t n) {
    return n >= kUdpRelayEndpointFixedLen + kAddrPortWireLen &&
           (n - kUdpRelayEndpointFixedLen) % kAddrPortWireLen == 0;
  };
  if (len < 2) {
    return false;
  }
  size_t body = len - 2;
  switch (type) {
    case 0x01:
      return body >= 12;
    case 0x02:
      return body >= 30;
    case 0x03:
      return true;
    case 0x04:
    case 0x05:
    case 0x06:
      return body >= 72;
    case 0x07:
      return endpoint_ok(body);
    case 0x08:
      return body >= 68;
    case 0x09:
      return body >= 4 && endpoint_ok(body - 4);
  }
  return false;
}

TEST(DiscoTruncationTest, EveryPrefixOfEveryMessage) {
  std::vector<std::vector<uint8_t>> messages;
  for (auto& [name, bytes] : testing::LoadCleartextVectors()) {
    if (name.rfind("geneve_", 0) != 0) {
      messages.push_back(bytes);
    }
  }
  messages.push_back(
      EncodeDisco(Ping{.tx_id = TxId01To0c(), .node_key = K({{0, 9}}), .padding = 4}));
  UdpRelayEndpoint three = EndpointValues();
  three.addr_ports.push_back(Ap("[::1]:1"));
  messages.push_back(EncodeDisco(CallMeMaybeVia{three}));
  messages.push_back(
      EncodeDisco(AllocateUdpRelayEndpointResponse{.generation = 7, .endpoint = three}));

  for (const std::vector<uint8_t>& full : messages) {
    for (size_t len = 0; len <= full.size(); ++len) {
      // A fresh heap copy of exactly len bytes, so ASan sees any read past the end.
      std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      absl::StatusOr<DiscoMessage> m = ParseDisco(cut);
      EXPECT_EQ(m.ok(), ShouldParse(full[0], len))
          << "type " << int{full[0]} << " len " << len << ": " << m.status();
      if (!m.ok()) {
        EXPECT_FALSE(m.status().message().empty());
      }
    }
  }
}

TEST(DiscoRoundTripTest, MixedFamilies) {
  std::vector<DiscoMessage> msgs = {
      Pong{.tx_id = TxId01To0c(), .src = Ap("[2001:db8::1]:0")},
      Pong{.tx_id = {}, .src = Ap("0.0.0.0:65535")},
      CallMeMaybe{{Ap("[::ffff:1.2.3.4]:1")}},  // mapped v6 comes back as v4 (Go's Unmap)
  };
  absl::StatusOr<DiscoMessage> m = ParseDisco(EncodeDisco(msgs[0]));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Describe(*m), Describe(msgs[0]));
  m = ParseDisco(EncodeDisco(msgs[1]));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Describe(*m), Describe(msgs[1]));
  m = ParseDisco(EncodeDisco(msgs[2]));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(FormatAddrPort(std::get<CallMeMaybe>(*m).my_numbers[0]), "1.2.3.4:1");
}

}  // namespace
}  // namespace dprelay
