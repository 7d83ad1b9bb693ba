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

  void MakeAllocator(const RegistryConfig& rc) {
    allocator_.reset();
    registry_ = std::make_unique<Registry>(rc, &lamport_);
    allocator_ = std::make_unique<Allocator>(
        AllocatorConfig{
            .control_key = control_,
            .server_disco_key = server_,
            .bind_lifetime = absl::Seconds(30),
            .steady_state_lifetime = absl::Minutes(5),
        },
        &policy_, registry_.get());
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
  EXPECT_EQ(allocator_->shared_key_cache_entries(), 0u);
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
  ExpectRefused(Request(c_, a_.pub, b_.pub, 1), Refusal::kSenderNotInPair);
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
}

}  // namespace
}  // namespace dprelay::control
