// Allocator::Handle end to end with a real policy, a registry and the reply limits: a sequence
// of datagrams (fuzz_allocator_input.h) raw, sealed by allowed clients or by a stranger, with
// repeats, clock ticks and the dataplane coming and going. Properties, for every datagram:
//   - exactly one of a refusal or a reply; a refusal changes nothing in the registry;
//   - a sender the policy does not allow costs no X25519 and no box open;
//   - a reply opens with the sender's key, answers its generation and names the sorted pair;
//   - a datagram answered once is never answered again (replay protection);
//   - the shared-key cache holds at most the policy's keys, the replay cache its capacity.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <span>
#include <variant>
#include <vector>

#include "control/allocator.h"
#include "control/lamport_store.h"
#include "control/policy.h"
#include "control/registry.h"
#include "fuzz_allocator_input.h"
#include "fuzz_check.h"
#include "proto/disco.h"
#include "proto/disco_box.h"

namespace dprelay::control {
namespace {

using fuzz_allocator::FuzzKey;
using fuzz_allocator::kControl;
using fuzz_allocator::kNoAddrs;
using fuzz_allocator::kRepeat;
using fuzz_allocator::kSealers;
using fuzz_allocator::kSealMask;
using fuzz_allocator::kServer;
using fuzz_allocator::kSourceMask;
using fuzz_allocator::kSourceShift;
using fuzz_allocator::kTemplate;
using fuzz_allocator::kTick;


// Larger than any input's record count (libFuzzer's default max_len is 4096 bytes, two per
// record at least), and a window longer than its clock can advance: nothing is evicted, so
// "never answered twice" holds exactly.
constexpr size_t kReplayCapacity = 4096;

struct Fixture {
  std::array<DiscoKeyPair, 7> keys;
  Policy policy;
  std::vector<AddrPort> sources;
  std::vector<AddrPort> relay_addrs;
  // What each key shares with control, computed once: the target's own sealing and checking
  // would otherwise cost more X25519 per execution than the allocator under test.
  std::array<SharedKey, 7> shared_with_control;

  Fixture() {
    for (uint8_t i = 0; i < keys.size(); ++i) {
      keys[i] = FuzzKey(i);
    }
    for (uint8_t i = 0; i < keys.size(); ++i) {
      absl::StatusOr<SharedKey> shared = ComputeSharedKey(keys[kControl].pub, keys[i].priv);
      FUZZ_CHECK(shared.ok());
      shared_with_control[i] = *shared;
    }
    const std::string text = "allow " + FormatDiscoKey(keys[2].pub) + " rate=50/s\n" +  //
                             "allow " + FormatDiscoKey(keys[3].pub) + " max_sessions=1\n" +
                             "allow " + FormatDiscoKey(keys[5].pub) +
                             " peers=" + FormatDiscoKey(keys[2].pub) + "\n" +
                             FormatDiscoKey(keys[6].pub) + "\n" +
                             "source 2001:db8::/32 max_sessions=2 rate=20/s\n"
                             "source 198.51.100.0/24 rate=100/s\n";
    absl::StatusOr<Policy> parsed = Policy::Parse(text, "fuzz");
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    }
    FUZZ_CHECK(parsed.ok());
    policy = *parsed;
    for (const char* s :
         {"198.51.100.7:41641", "[::ffff:198.51.100.8]:1", "[2001:db8::1]:2", "[2001:db8::2]:3"}) {
      sources.push_back(*ParseAddrPort(s));
    }
    relay_addrs = {*ParseAddrPort("203.0.113.5:40000")};
  }

  DiscoKey TemplateKey(uint8_t selector) const {
    const uint8_t i = selector % 10;
    if (i < keys.size()) {
      return keys[i].pub;
    }
    if (i == 7) {
      return DiscoKey{};
    }
    DiscoKey low_order;
    low_order.bytes[0] = 1;  // order 4
    return i == 8 ? low_order : keys[2].pub;
  }
};

const Fixture& TheFixture() {
  static const Fixture* fixture = new Fixture();
  return *fixture;
}

std::vector<uint8_t> Cleartext(const Fixture& f, uint8_t op, std::span<const uint8_t> body) {
  if ((op & kTemplate) == 0) {
    return {body.begin(), body.end()};
  }
  AllocateUdpRelayEndpointRequest request;
  request.client_disco[0] = f.TemplateKey(body.size() > 0 ? body[0] : 0);
  request.client_disco[1] = f.TemplateKey(body.size() > 1 ? body[1] : 1);
  for (size_t i = 2; i < 6 && i < body.size(); ++i) {
    request.generation = request.generation << 8 | body[i];
  }
  return EncodeDisco(request);
}

void CheckReply(const Fixture& f, const DiscoKey& sender, std::span<const uint8_t> clear,
                const AllocatorResult& r) {
  const SharedKey* shared = nullptr;
  for (size_t i = 0; i < f.keys.size(); ++i) {
    if (f.keys[i].pub == sender) {
      shared = &f.shared_with_control[i];
    }
  }
  FUZZ_CHECK(shared != nullptr && f.policy.Allows(sender));
  absl::StatusOr<std::vector<uint8_t>> opened = OpenDisco(*shared, r.reply);
  FUZZ_CHECK(opened.ok());
  absl::StatusOr<DiscoMessage> reply = ParseDisco(*opened);
  FUZZ_CHECK(reply.ok());
  const auto* response = std::get_if<AllocateUdpRelayEndpointResponse>(&*reply);
  FUZZ_CHECK(response != nullptr);
  absl::StatusOr<DiscoMessage> asked = ParseDisco(clear);
  FUZZ_CHECK(asked.ok());
  const auto* request = std::get_if<AllocateUdpRelayEndpointRequest>(&*asked);
  FUZZ_CHECK(request != nullptr);
  FUZZ_CHECK(response->generation == request->generation);
  FUZZ_CHECK(response->endpoint.client_disco ==
             SortedPair(request->client_disco[0], request->client_disco[1]));
  FUZZ_CHECK(r.allocation.has_value() && r.allocation->endpoint.vni == response->endpoint.vni);
}

int FuzzOne(const uint8_t* data, size_t size) {
  const Fixture& f = TheFixture();
  VolatileLamportStore lamport;
  Registry registry(RegistryConfig{.capacity = 3, .lamport_reserve_block = 4}, &lamport);
  AllocatorConfig config{
      .control_key = &f.keys[kControl],
      .server_disco_key = &f.keys[kServer],
      .replay = {.capacity = kReplayCapacity, .window = absl::Hours(2)},
      .reply_limits = {.per_destination = {.per_second = 3, .burst = 3},
                       .global = {.per_second = 8, .burst = 8},
                       .destination_slots_log2 = 4},
  };
  Allocator allocator(config, &f.policy, &registry);

  absl::Time now = absl::FromUnixSeconds(1700000000);
  uint64_t nonce_counter = 0;
  std::vector<uint8_t> previous;
  std::set<std::vector<uint8_t>> answered;
  std::span<const uint8_t> in(data, size);
  size_t records = 0;
  while (in.size() >= 2) {
    ++records;
    const uint8_t op = in[0];
    const size_t len = std::min<size_t>(in[1], in.size() - 2);
    const std::span<const uint8_t> body = in.subspan(2, len);
    in = in.subspan(2 + len);

    if ((op & kTick) != 0) {
      now += absl::Seconds(1);
    }
    std::vector<uint8_t> clear;
    std::vector<uint8_t> datagram;
    if ((op & kRepeat) != 0) {
      datagram = previous;
    } else if ((op & kSealMask) == 0) {
      datagram.assign(body.begin(), body.end());
    } else {
      const uint8_t sealer = kSealers[(op & kSealMask) - 1];
      DiscoNonce nonce{};
      ++nonce_counter;
      std::memcpy(nonce.data(), &nonce_counter, sizeof(nonce_counter));
      clear = Cleartext(f, op, body);
      datagram = SealDisco(f.shared_with_control[sealer], f.keys[sealer].pub, clear, &nonce);
    }
    previous = datagram;

    const AllocatorStats before = allocator.stats();
    const size_t endpoints_before = registry.size();
    const AddrPort& source = f.sources[(op & kSourceMask) >> kSourceShift];
    const std::span<const AddrPort> addrs =
        (op & kNoAddrs) != 0 ? std::span<const AddrPort>() : f.relay_addrs;
    AllocatorResult r = allocator.Handle(datagram, source, now, addrs);

    FUZZ_CHECK(r.refusal.has_value() == r.reply.empty());
    const bool sender_allowed =
        LooksLikeDiscoWrapper(datagram) && f.policy.Allows(DiscoWrapperSender(datagram));
    if (!sender_allowed) {
      FUZZ_CHECK(r.refusal.has_value());
      FUZZ_CHECK(allocator.stats().key_agreements == before.key_agreements);
      FUZZ_CHECK(allocator.stats().box_opens == before.box_opens);
    }
    if (r.refusal.has_value()) {
      FUZZ_CHECK(!r.install.has_value() && !r.allocation.has_value());
      FUZZ_CHECK(registry.size() == endpoints_before);
    } else {
      FUZZ_CHECK(answered.insert(datagram).second || records > kReplayCapacity);
      const bool sealed_here = (op & kRepeat) == 0 && (op & kSealMask) != 0;
      if (!sealed_here) {
        // A raw or repeated datagram that got an answer: recover its cleartext to check it.
        const DiscoKey sender = DiscoWrapperSender(datagram);
        for (size_t i = 0; i < f.keys.size(); ++i) {
          if (f.keys[i].pub == sender) {
            absl::StatusOr<std::vector<uint8_t>> opened =
                OpenDisco(f.shared_with_control[i], datagram);
            FUZZ_CHECK(opened.ok());
            clear = *opened;
          }
        }
      }
      CheckReply(f, DiscoWrapperSender(datagram), clear, r);
    }
    FUZZ_CHECK(allocator.shared_key_cache_entries() <= f.policy.size());
    FUZZ_CHECK(allocator.replay_cache_entries() <= kReplayCapacity);
  }
  return 0;
}

}  // namespace
}  // namespace dprelay::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::control::FuzzOne(data, size);
}
