#include <cstring>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "control/allocator.h"
#include "control/policy.h"
#include "control/registry.h"
#include "control_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

using ::testing::ElementsAre;
using testing::MemoryLamportStore;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

class AllocatorTest : public ::testing::Test {
 protected:
  AllocatorTest()
      : control_(GenerateKeyPair()),
        server_(GenerateKeyPair()),
        a_(GenerateKeyPair()),
        b_(GenerateKeyPair()),
        c_(GenerateKeyPair()),
        d_(GenerateKeyPair()),
        relay_addrs_{*ParseAddrPort("203.0.113.5:40000"), *ParseAddrPort("[2001:db8::5]:40000")},
        source_(*ParseAddrPort("198.51.100.7:41641")) {
    // c_ is not allowed.
    policy_ = *Policy::Parse(FormatDiscoKey(a_.pub) + "\n" + FormatDiscoKey(b_.pub) + "\n" +
                                 FormatDiscoKey(d_.pub) + "\n",
                             "test");
    MakeAllocator({});
  }

  AllocatorConfig Config() const {
    return AllocatorConfig{
        .control_key = &control_,
        .server_disco_key = &server_,
        .bind_lifetime = absl::Seconds(30),
        .steady_state_lifetime = absl::Minutes(5),
    };
  }

  void MakeAllocator(const RegistryConfig& rc) { MakeAllocator(rc, Config()); }
  void MakeAllocator(const RegistryConfig& rc, const AllocatorConfig& config) {
    allocator_.reset();
    registry_ = std::make_unique<Registry>(rc, &lamport_);
    allocator_ = std::make_unique<Allocator>(config, &policy_, registry_.get());
  }

  // The refusal of a request handled from `source` at `now`, or nullopt when it was answered.
  std::optional<Refusal> RefusalOf(const std::vector<uint8_t>& datagram, const AddrPort& source,
                                   absl::Time now = kT0) {
    AllocatorResult r = allocator_->Handle(datagram, source, now, relay_addrs_);
    EXPECT_EQ(r.refusal.has_value(), r.reply.empty());
    return r.refusal;
  }

  // A request as a client would send it: the cleartext sealed to `to` by `from`.
  static std::vector<uint8_t> Seal(const DiscoKeyPair& from, const DiscoKey& to,
                                   const std::vector<uint8_t>& clear) {
    absl::StatusOr<SharedKey> shared = ComputeSharedKey(to, from.priv);
    EXPECT_TRUE(shared.ok());
    return SealDisco(*shared, from.pub, clear);
  }

  std::vector<uint8_t> Request(const DiscoKeyPair& from, const DiscoKey& k0, const DiscoKey& k1,
                               uint32_t generation) {
    return Seal(from, control_.pub,
                EncodeDisco(AllocateUdpRelayEndpointRequest{.client_disco = {k0, k1},
                                                            .generation = generation}));
  }

  AllocatorResult Handle(const std::vector<uint8_t>& datagram) {
    return allocator_->Handle(datagram, source_, kT0, relay_addrs_);
  }

  // Opens a reply with the client's private key, as the client would.
  AllocateUdpRelayEndpointResponse OpenReply(const DiscoKeyPair& client,
                                             const std::vector<uint8_t>& reply) {
    EXPECT_TRUE(LooksLikeDiscoWrapper(reply));
    EXPECT_EQ(DiscoWrapperSender(reply), control_.pub);
    absl::StatusOr<SharedKey> shared = ComputeSharedKey(control_.pub, client.priv);
    EXPECT_TRUE(shared.ok());
    absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(*shared, reply);
    EXPECT_TRUE(clear.ok()) << clear.status();
    if (!clear.ok()) {
      return {};
    }
    absl::StatusOr<DiscoMessage> msg = ParseDisco(*clear);
    EXPECT_TRUE(msg.ok()) << msg.status();
    const auto* resp = std::get_if<AllocateUdpRelayEndpointResponse>(&*msg);
    EXPECT_NE(resp, nullptr);
    return resp != nullptr ? *resp : AllocateUdpRelayEndpointResponse{};
  }

  void ExpectRefused(const std::vector<uint8_t>& datagram, Refusal want,
                     std::span<const AddrPort> addrs) {
    size_t before = registry_->size();
    uint64_t lamport_before = registry_->last_lamport_id();
    AllocatorResult r = allocator_->Handle(datagram, source_, kT0, addrs);
    ASSERT_TRUE(r.refusal.has_value()) << RefusalName(want);
    EXPECT_EQ(*r.refusal, want) << RefusalName(*r.refusal) << " != " << RefusalName(want);
    EXPECT_TRUE(r.reply.empty());
    EXPECT_FALSE(r.install.has_value());
    EXPECT_FALSE(r.allocation.has_value());
    EXPECT_EQ(registry_->size(), before);
    EXPECT_EQ(registry_->last_lamport_id(), lamport_before);
  }
  void ExpectRefused(const std::vector<uint8_t>& datagram, Refusal want) {
    ExpectRefused(datagram, want, relay_addrs_);
  }

  const DiscoKeyPair control_, server_, a_, b_, c_, d_;
  const std::vector<AddrPort> relay_addrs_;
  const AddrPort source_;
  Policy policy_;
  MemoryLamportStore lamport_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Allocator> allocator_;
};

TEST_F(AllocatorTest, AllocatesAndRepliesSealedToTheRequester) {
  // Keys in the request are in either order; B asks.
  AllocatorResult r = Handle(Request(b_, b_.pub, a_.pub, 77));
  ASSERT_FALSE(r.refusal.has_value()) << RefusalName(*r.refusal);
  ASSERT_FALSE(r.reply.empty());
  EXPECT_EQ(r.source, source_);
  EXPECT_EQ(r.sender, b_.pub);

  const KeyPair sorted = SortedPair(a_.pub, b_.pub);
  AllocateUdpRelayEndpointResponse resp = OpenReply(b_, r.reply);
  EXPECT_EQ(resp.generation, 77u);
  const UdpRelayEndpoint& ep = resp.endpoint;
  EXPECT_EQ(ep.server_disco, server_.pub);
  EXPECT_EQ(ep.client_disco, sorted);
  EXPECT_EQ(ep.lamport_id, 1u);
  EXPECT_EQ(ep.vni, 1u);
  EXPECT_EQ(ep.bind_lifetime, absl::Seconds(30));
  EXPECT_EQ(ep.steady_state_lifetime, absl::Minutes(5));
  EXPECT_EQ(ep.addr_ports, relay_addrs_);
  // A (the other client) cannot open B's reply.
  absl::StatusOr<SharedKey> a_shared = ComputeSharedKey(control_.pub, a_.priv);
  EXPECT_FALSE(OpenDisco(*a_shared, r.reply).ok());

  ASSERT_TRUE(r.allocation.has_value());
  EXPECT_TRUE(r.allocation->created);
  EXPECT_EQ(r.allocation->endpoint.vni, 1u);
  EXPECT_EQ(r.allocation->endpoint.allocated_at, kT0);

  ASSERT_TRUE(r.install.has_value());
  const ipc::InstallSession& in = *r.install;
  EXPECT_EQ(in.vni, 1u);
  EXPECT_EQ(in.client_keys, sorted);
  EXPECT_EQ(in.server_key, server_.pub);
  EXPECT_EQ(in.bind_lifetime_ns, 30'000'000'000);
  EXPECT_EQ(in.steady_state_lifetime_ns, 300'000'000'000);
  EXPECT_FALSE(in.bound[0].valid());
  EXPECT_FALSE(in.bound[1].valid());
  // The leg keys are what each client computes with the server's public key.
  for (int i = 0; i < 2; ++i) {
    const DiscoKeyPair& client = sorted[i] == a_.pub ? a_ : b_;
    absl::StatusOr<SharedKey> want = ComputeSharedKey(server_.pub, client.priv);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(in.shared[i], *want) << "leg " << i;
  }
  EXPECT_NE(in.shared[0], in.shared[1]);
}

TEST_F(AllocatorTest, SamePairGetsTheSameEndpointAndNoInstall) {
  AllocatorResult first = Handle(Request(a_, a_.pub, b_.pub, 1));
  ASSERT_FALSE(first.refusal.has_value());
  AllocatorResult other = Handle(Request(a_, a_.pub, d_.pub, 1));
  ASSERT_FALSE(other.refusal.has_value());

  AllocatorResult again = Handle(Request(b_, a_.pub, b_.pub, 9));
  ASSERT_FALSE(again.refusal.has_value());
  ASSERT_TRUE(again.allocation.has_value());
  EXPECT_FALSE(again.allocation->created);
  EXPECT_FALSE(again.install.has_value());
  AllocateUdpRelayEndpointResponse r1 = OpenReply(a_, first.reply);
  AllocateUdpRelayEndpointResponse r2 = OpenReply(b_, again.reply);
  EXPECT_EQ(r2.generation, 9u);
  EXPECT_EQ(r2.endpoint.vni, r1.endpoint.vni);
  EXPECT_EQ(r2.endpoint.lamport_id, r1.endpoint.lamport_id);
  EXPECT_EQ(r2.endpoint.client_disco, r1.endpoint.client_disco);
  EXPECT_EQ(OpenReply(a_, other.reply).endpoint.vni, 2u);
  EXPECT_EQ(OpenReply(a_, other.reply).endpoint.lamport_id, 2u);
  EXPECT_EQ(registry_->size(), 2u);
  // Current AddrPorts are advertised, even for an existing endpoint.
  std::vector<AddrPort> moved = {*ParseAddrPort("192.0.2.9:1")};
  AllocatorResult r3 = allocator_->Handle(Request(b_, a_.pub, b_.pub, 10), source_, kT0, moved);
  ASSERT_FALSE(r3.refusal.has_value());
  EXPECT_EQ(OpenReply(b_, r3.reply).endpoint.addr_ports, moved);
  // The sender's shared key was cached after it authenticated.
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 2u);
}

TEST_F(AllocatorTest, NotDisco) {
  ExpectRefused({}, Refusal::kNotDisco);
  ExpectRefused(std::vector<uint8_t>(200, 0x42), Refusal::kNotDisco);
  std::vector<uint8_t> good = Request(a_, a_.pub, b_.pub, 1);
  ExpectRefused(std::vector<uint8_t>(good.begin(), good.begin() + 61), Refusal::kNotDisco);
  AllocatorResult r = Handle({1, 2, 3});
  EXPECT_FALSE(r.sender.has_value());
}

TEST_F(AllocatorTest, BadSenderKey) {
  std::vector<uint8_t> req = Request(a_, a_.pub, b_.pub, 1);
  std::fill(req.begin() + 6, req.begin() + 38, 0);  // zero sender key
  ExpectRefused(req, Refusal::kBadSenderKey);
}

TEST_F(AllocatorTest, OpenFailed) {
  // Sealed to the server disco key instead of the control key.
  ExpectRefused(Seal(a_, server_.pub,
                     EncodeDisco(AllocateUdpRelayEndpointRequest{.client_disco = {a_.pub, b_.pub},
                                                                 .generation = 1})),
                Refusal::kOpenFailed);
  // Tampered ciphertext.
  std::vector<uint8_t> req = Request(a_, a_.pub, b_.pub, 1);
  req.back() ^= 1;
  ExpectRefused(req, Refusal::kOpenFailed);
  // Claims to come from B but sealed by A.
  req = Request(a_, a_.pub, b_.pub, 1);
  std::copy(b_.pub.bytes.begin(), b_.pub.bytes.end(), req.begin() + 6);
  ExpectRefused(req, Refusal::kOpenFailed);
  // The allowed senders' keys are kept even though no box opened: junk naming an allowed key
  // costs one X25519 per key, and the cache holds allowed keys only.
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 2u);
  EXPECT_EQ(allocator_->stats().key_agreements, 2u);
}

TEST_F(AllocatorTest, ParseFailed) {
  ExpectRefused(Seal(a_, control_.pub, {0x7f, 0x00, 1, 2, 3}), Refusal::kParseFailed);
  ExpectRefused(Seal(a_, control_.pub, {}), Refusal::kParseFailed);
  // A request body shorter than 68 bytes.
  std::vector<uint8_t> clear = EncodeDisco(
      AllocateUdpRelayEndpointRequest{.client_disco = {a_.pub, b_.pub}, .generation = 1});
  clear.resize(clear.size() - 1);
  ExpectRefused(Seal(a_, control_.pub, clear), Refusal::kParseFailed);
}

TEST_F(AllocatorTest, NotRequest) {
  ExpectRefused(Seal(a_, control_.pub, EncodeDisco(Ping{})), Refusal::kNotRequest);
  ExpectRefused(Seal(a_, control_.pub,
                     EncodeDisco(AllocateUdpRelayEndpointResponse{
                         .generation = 1,
                         .endpoint = {.server_disco = server_.pub,
                                      .client_disco = SortedPair(a_.pub, b_.pub),
                                      .addr_ports = relay_addrs_}})),
                Refusal::kNotRequest);
}

TEST_F(AllocatorTest, BadClientKey) {
  ExpectRefused(Request(a_, a_.pub, DiscoKey{}, 1), Refusal::kBadClientKey);
  DiscoKey low_order;
  low_order.bytes[0] = 1;  // u = 1 has order 4
  ExpectRefused(Request(a_, low_order, a_.pub, 1), Refusal::kBadClientKey);
  // Version != 0 parses as an empty request (all-zero keys), as in the reference.
  std::vector<uint8_t> clear = EncodeDisco(
      AllocateUdpRelayEndpointRequest{.client_disco = {a_.pub, b_.pub}, .generation = 1});
  clear[1] = 1;
  ExpectRefused(Seal(a_, control_.pub, clear), Refusal::kBadClientKey);
}

TEST_F(AllocatorTest, SameKeys) {
  ExpectRefused(Request(a_, a_.pub, a_.pub, 1), Refusal::kSameKeys);
}

TEST_F(AllocatorTest, KeyIsServerKey) {
  ExpectRefused(Request(a_, a_.pub, server_.pub, 1), Refusal::kKeyIsServerKey);
  ExpectRefused(Request(a_, control_.pub, a_.pub, 1), Refusal::kKeyIsServerKey);
}

TEST_F(AllocatorTest, SenderNotInPair) {
  ExpectRefused(Request(d_, a_.pub, b_.pub, 1), Refusal::kSenderNotInPair);
  // A sender the policy does not know is refused before its box is opened.
  ExpectRefused(Request(c_, a_.pub, b_.pub, 1), Refusal::kNotAllowed);
}

TEST_F(AllocatorTest, NotAllowed) {
  ExpectRefused(Request(a_, a_.pub, c_.pub, 1), Refusal::kNotAllowed);  // peer not listed
  ExpectRefused(Request(c_, c_.pub, a_.pub, 1), Refusal::kNotAllowed);  // sender not listed
}

TEST_F(AllocatorTest, NoAddrPortsWhileTheDataplaneIsAway) {
  ExpectRefused(Request(a_, a_.pub, b_.pub, 1), Refusal::kNoAddrPorts, {});
  // Also for an existing endpoint.
  ASSERT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  ExpectRefused(Request(a_, a_.pub, b_.pub, 2), Refusal::kNoAddrPorts, {});
}

TEST_F(AllocatorTest, VniExhausted) {
  MakeAllocator({.capacity = 1});
  ASSERT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  ExpectRefused(Request(a_, a_.pub, d_.pub, 1), Refusal::kVniExhausted);
  // The existing pair is still answered.
  EXPECT_FALSE(Handle(Request(b_, a_.pub, b_.pub, 2)).refusal.has_value());
}

TEST_F(AllocatorTest, LamportPersistFailureIsInternal) {
  MakeAllocator({.lamport_reserve_block = 1});
  lamport_.set_fail(true);
  ExpectRefused(Request(a_, a_.pub, b_.pub, 1), Refusal::kInternal);
  lamport_.set_fail(false);
  EXPECT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
}

TEST_F(AllocatorTest, PeersListRestrictsPairs) {
  policy_ = *Policy::Parse("allow " + FormatDiscoKey(a_.pub) + " peers=" + FormatDiscoKey(b_.pub) +
                               "\n" + FormatDiscoKey(b_.pub) + "\n" + FormatDiscoKey(d_.pub) + "\n",
                           "test");
  EXPECT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  ExpectRefused(Request(a_, a_.pub, d_.pub, 1), Refusal::kPeerNotAllowed);
  ExpectRefused(Request(d_, d_.pub, a_.pub, 1), Refusal::kPeerNotAllowed);  // from the other side
  EXPECT_FALSE(Handle(Request(d_, d_.pub, b_.pub, 1)).refusal.has_value());
}

TEST_F(AllocatorTest, UnspecifiedSourceIsRefused) {
  AllocatorResult r = allocator_->Handle(Request(a_, a_.pub, b_.pub, 1), *ParseAddrPort("[::]:5"),
                                         kT0, relay_addrs_);
  ASSERT_TRUE(r.refusal.has_value());
  EXPECT_EQ(*r.refusal, Refusal::kBadSource);
}

TEST_F(AllocatorTest, KeySessionQuotaStopsNewSessionsOnly) {
  policy_ = *Policy::Parse("allow " + FormatDiscoKey(a_.pub) + " max_sessions=1\n" +
                               FormatDiscoKey(b_.pub) + "\n" + FormatDiscoKey(d_.pub) + "\n",
                           "test");
  ASSERT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  ExpectRefused(Request(d_, a_.pub, d_.pub, 1), Refusal::kKeySessions);      // a is at its quota
  EXPECT_FALSE(Handle(Request(b_, a_.pub, b_.pub, 2)).refusal.has_value());  // existing pair
  EXPECT_FALSE(Handle(Request(d_, b_.pub, d_.pub, 1)).refusal.has_value());  // b has no quota
  // Freeing a's session makes room again.
  registry_->Remove(registry_->FindByPair(SortedPair(a_.pub, b_.pub))->vni);
  EXPECT_FALSE(Handle(Request(d_, a_.pub, d_.pub, 2)).refusal.has_value());
}

TEST_F(AllocatorTest, SourceQuotasAndCapacity) {
  const DiscoKeyPair e = GenerateKeyPair();
  policy_ = *Policy::Parse(FormatDiscoKey(a_.pub) + "\n" + FormatDiscoKey(b_.pub) + "\n" +
                               FormatDiscoKey(d_.pub) + "\n" + FormatDiscoKey(e.pub) + "\n" +
                               "source 198.51.100.0/24 max_sessions=1\ncapacity 2\n",
                           "test");
  ASSERT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  // The same source address (also as v4-mapped IPv6) may not create a second session.
  AllocatorResult mapped = allocator_->Handle(
      Request(d_, d_.pub, e.pub, 1), *ParseAddrPort("[::ffff:198.51.100.7]:1"), kT0, relay_addrs_);
  ASSERT_TRUE(mapped.refusal.has_value());
  EXPECT_EQ(*mapped.refusal, Refusal::kSourceSessions);
  // Another address of the prefix has its own quota.
  const AddrPort other = *ParseAddrPort("198.51.100.8:1");
  EXPECT_FALSE(allocator_->Handle(Request(d_, d_.pub, e.pub, 1), other, kT0, relay_addrs_).refusal);
  // Global capacity 2 reached.
  AllocatorResult full = allocator_->Handle(Request(a_, a_.pub, d_.pub, 1),
                                            *ParseAddrPort("192.0.2.1:1"), kT0, relay_addrs_);
  ASSERT_TRUE(full.refusal.has_value());
  EXPECT_EQ(*full.refusal, Refusal::kCapacity);
}

TEST_F(AllocatorTest, RateQuotasRefillOverTime) {
  policy_ = *Policy::Parse("default rate=2/s\n" + FormatDiscoKey(a_.pub) + "\n" +
                               FormatDiscoKey(b_.pub) + "\n" + "source 192.0.2.0/24 rate=1/s\n",
                           "test");
  // Burst of 2 for the key, then refused; half a second later one more token.
  EXPECT_FALSE(
      allocator_->Handle(Request(a_, a_.pub, b_.pub, 1), source_, kT0, relay_addrs_).refusal);
  EXPECT_FALSE(
      allocator_->Handle(Request(a_, a_.pub, b_.pub, 2), source_, kT0, relay_addrs_).refusal);
  AllocatorResult r =
      allocator_->Handle(Request(a_, a_.pub, b_.pub, 3), source_, kT0, relay_addrs_);
  ASSERT_TRUE(r.refusal.has_value());
  EXPECT_EQ(*r.refusal, Refusal::kKeyRate);
  EXPECT_FALSE(allocator_
                   ->Handle(Request(a_, a_.pub, b_.pub, 4), source_, kT0 + absl::Milliseconds(500),
                            relay_addrs_)
                   .refusal);
  // b from a rate-limited source: one per second.
  const AddrPort limited = *ParseAddrPort("192.0.2.9:1");
  EXPECT_FALSE(
      allocator_->Handle(Request(b_, a_.pub, b_.pub, 1), limited, kT0, relay_addrs_).refusal);
  r = allocator_->Handle(Request(b_, a_.pub, b_.pub, 2), limited, kT0, relay_addrs_);
  ASSERT_TRUE(r.refusal.has_value());
  EXPECT_EQ(*r.refusal, Refusal::kSourceRate);
}

// A wrapper naming `sender` whose box is random bytes: what a flood of junk looks like.
std::vector<uint8_t> Junk(const DiscoKey& sender, size_t box_len = 100) {
  std::vector<uint8_t> d(kDiscoHeaderLen + kDiscoNonceLen + box_len);
  std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), d.begin());
  std::copy(sender.bytes.begin(), sender.bytes.end(), d.begin() + kDiscoMagic.size());
  for (size_t i = kDiscoHeaderLen; i < d.size(); ++i) {
    d[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  return d;
}

TEST_F(AllocatorTest, UnknownSenderIsRefusedWithNoCrypto) {
  // A garbage box from a key the policy does not know: refused for the key, never opened.
  ExpectRefused(Junk(c_.pub), Refusal::kNotAllowed);
  // Thousands of distinct unknown keys, some with well-formed requests sealed to us.
  for (int i = 0; i < 2000; ++i) {
    const DiscoKeyPair stranger = GenerateKeyPair();
    const std::vector<uint8_t> d =
        i % 2 == 0 ? Junk(stranger.pub) : Request(stranger, stranger.pub, a_.pub, 1);
    ASSERT_EQ(RefusalOf(d, source_), Refusal::kNotAllowed) << i;
  }
  // A low-order sender key is not in the policy either (no scalar multiplication to find out).
  DiscoKey low_order;
  low_order.bytes[0] = 1;
  ExpectRefused(Junk(low_order), Refusal::kNotAllowed);
  EXPECT_EQ(allocator_->stats().key_agreements, 0u);
  EXPECT_EQ(allocator_->stats().box_opens, 0u);
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 0u);
  EXPECT_EQ(allocator_->replay_cache_entries(), 0u);
  // Junk naming an allowed key costs one X25519 for that key, then only box opens.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(RefusalOf(Junk(a_.pub, 100 + i), source_), Refusal::kOpenFailed);
  }
  EXPECT_EQ(allocator_->stats().key_agreements, 1u);
  EXPECT_EQ(allocator_->stats().box_opens, 10u);
  EXPECT_EQ(allocator_->replay_cache_entries(), 0u);  // nothing authenticated
  // and the legitimate client then costs no X25519 for its own key.
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, b_.pub, 1), source_).has_value());
  EXPECT_EQ(allocator_->stats().key_agreements, 1u);
}

TEST_F(AllocatorTest, ReplayedRequestGetsNoSecondReply) {
  const std::vector<uint8_t> req = Request(a_, a_.pub, b_.pub, 1);
  EXPECT_FALSE(RefusalOf(req, source_).has_value());
  // The same sealed bytes again, from the client's address or a spoofed one.
  EXPECT_EQ(RefusalOf(req, source_), Refusal::kReplay);
  EXPECT_EQ(RefusalOf(req, *ParseAddrPort("192.0.2.99:7")), Refusal::kReplay);
  EXPECT_EQ(RefusalOf(req, source_, kT0 + absl::Seconds(90)), Refusal::kReplay);
  // A client's retry is sealed afresh (client/allocate.cc) and answered.
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, b_.pub, 1), source_).has_value());
  // A refused request is remembered too: its replay does not get the answer it was refused.
  const std::vector<uint8_t> early = Request(b_, a_.pub, b_.pub, 2);
  AllocatorResult away = allocator_->Handle(early, source_, kT0, {});
  ASSERT_EQ(away.refusal, Refusal::kNoAddrPorts);
  EXPECT_EQ(RefusalOf(early, source_), Refusal::kReplay);
  // Past the window the cache forgets (the reply limits bound what that allows).
  EXPECT_FALSE(RefusalOf(req, source_, kT0 + absl::Minutes(3)).has_value());
}

TEST_F(AllocatorTest, ReplaysNeitherSpendRateTokensNorEnterFromForgeries) {
  policy_ = *Policy::Parse(
      "allow " + FormatDiscoKey(a_.pub) + " rate=2/s\n" + FormatDiscoKey(b_.pub) + "\n", "test");
  const std::vector<uint8_t> req = Request(a_, a_.pub, b_.pub, 1);
  EXPECT_FALSE(RefusalOf(req, source_).has_value());
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(RefusalOf(req, source_), Refusal::kReplay);
  }
  // The second token of the burst is still there for the client's next request.
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, b_.pub, 2), source_).has_value());
  EXPECT_EQ(RefusalOf(Request(a_, a_.pub, b_.pub, 3), source_), Refusal::kKeyRate);

  // A forgery reusing a genuine request's nonce does not get that request refused later.
  const std::vector<uint8_t> genuine = Request(b_, a_.pub, b_.pub, 4);
  std::vector<uint8_t> forged = genuine;
  forged.back() ^= 1;
  EXPECT_EQ(RefusalOf(forged, source_), Refusal::kOpenFailed);
  EXPECT_FALSE(RefusalOf(genuine, source_).has_value());
}

TEST_F(AllocatorTest, ReplayCacheMemoryIsBounded) {
  AllocatorConfig config = Config();
  config.replay.capacity = 4;
  MakeAllocator({}, config);
  std::vector<std::vector<uint8_t>> sent;
  for (uint32_t g = 1; g <= 10; ++g) {
    sent.push_back(Request(a_, a_.pub, b_.pub, g));
    ASSERT_FALSE(RefusalOf(sent.back(), source_).has_value()) << g;
    EXPECT_LE(allocator_->replay_cache_entries(), 4u);
  }
  // The last four are remembered; the oldest were evicted (first in, first out).
  EXPECT_EQ(RefusalOf(sent[9], source_), Refusal::kReplay);
  EXPECT_EQ(RefusalOf(sent[6], source_), Refusal::kReplay);
  EXPECT_FALSE(RefusalOf(sent[0], source_).has_value());
}

TEST_F(AllocatorTest, RepliesAreLimitedPerDestinationAndGlobally) {
  AllocatorConfig config = Config();
  config.reply_limits.per_destination = {.per_second = 2, .burst = 2};
  config.reply_limits.global = {.per_second = 3, .burst = 3};
  MakeAllocator({}, config);
  const AddrPort v6_a = *ParseAddrPort("[2001:db8:0:1::a]:1000");
  const AddrPort v6_b = *ParseAddrPort("[2001:db8:0:1::b]:2000");  // the same /64
  const AddrPort v4 = *ParseAddrPort("198.51.100.20:3000");
  const AddrPort v4_other = *ParseAddrPort("198.51.100.21:3000");
  uint32_t g = 0;
  auto next = [&] { return Request(a_, a_.pub, b_.pub, ++g); };

  EXPECT_FALSE(RefusalOf(next(), v6_a).has_value());
  EXPECT_FALSE(RefusalOf(next(), v6_b).has_value());
  // Two replies to that /64 in this second, whichever host in it asks.
  EXPECT_EQ(RefusalOf(next(), v6_a), Refusal::kReplyRateDest);
  EXPECT_EQ(RefusalOf(next(), v6_b), Refusal::kReplyRateDest);
  // A refusal of one destination did not spend the global budget: one reply left.
  EXPECT_FALSE(RefusalOf(next(), v4).has_value());
  EXPECT_EQ(RefusalOf(next(), v4_other), Refusal::kReplyRateGlobal);
  // No endpoint is created for a request whose reply is refused.
  EXPECT_EQ(RefusalOf(Request(a_, a_.pub, d_.pub, 1), v4_other), Refusal::kReplyRateGlobal);
  EXPECT_EQ(registry_->FindByPair(SortedPair(a_.pub, d_.pub)), nullptr);
  // Half a second refills 1.5 global tokens and one per destination.
  const absl::Time later = kT0 + absl::Milliseconds(500);
  EXPECT_FALSE(RefusalOf(next(), v4_other, later).has_value());
  EXPECT_EQ(RefusalOf(next(), v6_a, later + absl::Milliseconds(100)), Refusal::kReplyRateGlobal);
}

TEST_F(AllocatorTest, DefaultReplyLimitsServeABusyNatButNotAFlood) {
  // 100 clients behind one address starting at once all get their reply (the default burst);
  // the 101st request to that address in the same instant does not.
  std::vector<DiscoKeyPair> peers;
  std::string text = FormatDiscoKey(a_.pub) + "\n";
  for (int i = 0; i < 101; ++i) {
    peers.push_back(GenerateKeyPair());
    text += FormatDiscoKey(peers.back().pub) + "\n";
  }
  policy_ = *Policy::Parse(text, "test");
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(RefusalOf(Request(peers[i], peers[i].pub, a_.pub, 1), source_).has_value()) << i;
  }
  EXPECT_EQ(RefusalOf(Request(peers[100], peers[100].pub, a_.pub, 1), source_),
            Refusal::kReplyRateDest);
  // The refill (50 a second) serves the next one 20 ms later.
  EXPECT_FALSE(RefusalOf(Request(peers[100], peers[100].pub, a_.pub, 2), source_,
                         kT0 + absl::Milliseconds(20))
                   .has_value());
}

TEST_F(AllocatorTest, ReloadDropsTheCachedSharedKeysOfRemovedKeys) {
  ASSERT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 1)).refusal.has_value());
  ASSERT_FALSE(Handle(Request(d_, a_.pub, d_.pub, 1)).refusal.has_value());
  ASSERT_FALSE(Handle(Request(b_, a_.pub, b_.pub, 2)).refusal.has_value());
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 3u);
  EXPECT_EQ(allocator_->stats().key_agreements, 3u);

  // d is removed; the owner tells the allocator (ControlServer::ReloadPolicy does).
  policy_ = *Policy::Parse(FormatDiscoKey(a_.pub) + "\n" + FormatDiscoKey(b_.pub) + "\n", "test");
  allocator_->PolicyChanged();
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 2u);
  ExpectRefused(Request(d_, a_.pub, d_.pub, 2), Refusal::kNotAllowed);
  // Keys still allowed keep theirs: no new X25519.
  EXPECT_FALSE(Handle(Request(a_, a_.pub, b_.pub, 3)).refusal.has_value());
  EXPECT_EQ(allocator_->stats().key_agreements, 3u);

  // A policy replaced without telling the allocator is noticed at the next request.
  policy_ = *Policy::Parse(FormatDiscoKey(a_.pub) + "\n", "test");
  ExpectRefused(Junk(c_.pub), Refusal::kNotAllowed);
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 1u);
  // A key allowed again is computed afresh on its first request.
  policy_ = *Policy::Parse(FormatDiscoKey(a_.pub) + "\n" + FormatDiscoKey(d_.pub) + "\n", "test");
  EXPECT_FALSE(Handle(Request(d_, a_.pub, d_.pub, 3)).refusal.has_value());
  EXPECT_EQ(allocator_->stats().key_agreements, 4u);
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 2u);
}

TEST_F(AllocatorTest, IPv6SourceQuotasCountSlash64s) {
  const DiscoKeyPair e = GenerateKeyPair();
  const DiscoKeyPair f = GenerateKeyPair();
  policy_ = *Policy::Parse(
      FormatDiscoKey(a_.pub) + "\n" + FormatDiscoKey(b_.pub) + "\n" + FormatDiscoKey(d_.pub) +
          "\n" + FormatDiscoKey(e.pub) + "\n" + FormatDiscoKey(f.pub) + "\n" +
          "source 2001:db8::/32 max_sessions=1\n" + "source 2001:db8:ffff::/48 rate=1/s\n",
      "test");
  const AddrPort host1 = *ParseAddrPort("[2001:db8:0:1::1]:1");
  const AddrPort host2 = *ParseAddrPort("[2001:db8:0:1:ffff::2]:1");  // the same /64
  const AddrPort other64 = *ParseAddrPort("[2001:db8:0:2::1]:1");
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, b_.pub, 1), host1).has_value());
  EXPECT_EQ(RefusalOf(Request(d_, d_.pub, e.pub, 1), host2), Refusal::kSourceSessions);
  EXPECT_FALSE(RefusalOf(Request(d_, d_.pub, e.pub, 1), other64).has_value());
  EXPECT_EQ(registry_->SessionsFromSource(*ParseIp("2001:db8:0:1::77")), 1u);

  // Rates too: one request a second per /64, whichever host sends it.
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, f.pub, 1), *ParseAddrPort("[2001:db8:ffff:5::1]:1")));
  EXPECT_EQ(RefusalOf(Request(a_, a_.pub, f.pub, 2), *ParseAddrPort("[2001:db8:ffff:5::2]:1")),
            Refusal::kSourceRate);
  EXPECT_FALSE(RefusalOf(Request(a_, a_.pub, f.pub, 3), *ParseAddrPort("[2001:db8:ffff:6::2]:1")));
}

TEST_F(AllocatorTest, RefusalNamesAreUniqueLabels) {
  std::set<std::string> names;
  for (size_t i = 0; i < kRefusalCount; ++i) {
    std::string name(RefusalName(static_cast<Refusal>(i)));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kRefusalCount);
  EXPECT_EQ(RefusalName(Refusal::kNotAllowed), "not_allowed");
  EXPECT_EQ(RefusalName(Refusal::kReplay), "replay");
  EXPECT_EQ(RefusalName(Refusal::kReplyRateDest), "reply_rate_dest");
  EXPECT_EQ(RefusalName(Refusal::kReplyRateGlobal), "reply_rate_global");
}

}  // namespace
}  // namespace dprelay::control

namespace dprelay::control {
namespace {

bool Contains(const void* object, size_t size, const DiscoPrivateKey& key) {
  const auto* p = static_cast<const uint8_t*>(object);
  for (size_t i = 0; i + key.bytes.size() <= size; ++i) {
    if (std::memcmp(p + i, key.bytes.data(), key.bytes.size()) == 0) {
      return true;
    }
  }
  return false;
}

// The private keys live only where their owner keeps them (KeyStore: sodium_malloc'd, locked
// and guarded); the allocator refers to them and keeps no copy in its own, ordinary memory.
TEST_F(AllocatorTest, HoldsNoCopyOfAPrivateKey) {
  ASSERT_TRUE(Contains(&control_, sizeof(control_), control_.priv));  // the scan finds keys
  EXPECT_FALSE(Contains(allocator_.get(), sizeof(Allocator), control_.priv));
  EXPECT_FALSE(Contains(allocator_.get(), sizeof(Allocator), server_.priv));
  // And it still answers with them.
  EXPECT_EQ(RefusalOf(Request(a_, a_.pub, b_.pub, 1), source_), std::nullopt);
}

}  // namespace
}  // namespace dprelay::control
