// dprelay-alloc-bench: CPU per allocation request in Allocator::Handle, the control thread's
// whole cost for a datagram apart from the socket calls. No network: datagrams are sealed
// before the clock starts, and each case runs --repeat times; median and range are reported.
//   dprelay-alloc-bench [--requests=100000] [--repeat=7]
// Cases, from cheapest:
//   unknown_key      well-formed requests sealed by keys the policy does not know (2,048 keys)
//   replay           an answered request sent again
//   open_failed      junk naming an allowed key (one box open; its shared key is cached)
//   accepted         fresh requests from an allowed key for its existing endpoint (open, parse,
//                    seal the reply)
//   accepted_new     a new client's first request, for a new pair: three X25519 (its shared
//                    key with control, then the two leg keys of the new endpoint)
#include <gflags/gflags.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/allocator.h"
#include "control/lamport_store.h"
#include "control/policy.h"
#include "control/registry.h"
#include "proto/clock.h"
#include "proto/disco.h"
#include "proto/disco_box.h"

DEFINE_uint32(requests, 100000, "requests per measurement (accepted_new uses a tenth)");
DEFINE_uint32(repeat, 7, "measurements per case; the median and the range are reported");

namespace dprelay::control {
namespace {

constexpr size_t kUnknownKeys = 2048;


std::vector<uint8_t> Seal(const DiscoKeyPair& from, const DiscoKey& to, const DiscoKey& k0,
                          const DiscoKey& k1, uint32_t generation) {
  const SharedKey shared = ComputeSharedKey(to, from.priv).value_or(SharedKey{});
  return SealDisco(shared, from.pub,
                   EncodeDisco(AllocateUdpRelayEndpointRequest{.client_disco = {k0, k1},
                                                               .generation = generation}));
}

// Everything one measurement needs, rebuilt per run so no run inherits another's caches.
struct Bench {
  DiscoKeyPair control = GenerateKeyPair();
  DiscoKeyPair server = GenerateKeyPair();
  DiscoKeyPair a = GenerateKeyPair();
  DiscoKeyPair b = GenerateKeyPair();
  std::vector<DiscoKeyPair> peers;  // allowed, for accepted_new
  Policy policy;
  AddrPort source = *ParseAddrPort("198.51.100.7:41641");
  std::vector<AddrPort> relay_addrs = {*ParseAddrPort("203.0.113.5:40000")};

  explicit Bench(size_t new_peers) {
    std::string text = FormatDiscoKey(a.pub) + "\n" + FormatDiscoKey(b.pub) + "\n";
    for (size_t i = 0; i < new_peers; ++i) {
      peers.push_back(GenerateKeyPair());
      text += FormatDiscoKey(peers.back().pub) + "\n";
    }
    policy = *Policy::Parse(text, "bench");
  }

  AllocatorConfig Config() const {
    // Limits far above the request count: the bench measures work, not refusals by rate.
    const TokenRate unlimited = {.per_second = 1'000'000, .burst = 1'000'000};
    return AllocatorConfig{
        .control_key = &control,
        .server_disco_key = &server,
        .reply_limits = {.per_destination = unlimited, .global = unlimited},
    };
  }
};

struct Figures {
  double median;
  double min;
  double max;
};

// Runs `handle_all` (which handles `count` datagrams) --repeat times after `setup`.
Figures Measure(size_t count, const std::function<void()>& setup,
                const std::function<void()>& handle_all) {
  std::vector<double> ns;
  for (uint32_t r = 0; r < FLAGS_repeat; ++r) {
    setup();
    const uint64_t start = MonotonicNs();
    handle_all();
    ns.push_back(static_cast<double>(MonotonicNs() - start) / static_cast<double>(count));
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], ns.front(), ns.back()};
}

void Print(const char* name, size_t count, const Figures& f) {
  std::printf("%-13s %10.0f ns/request (min %.0f, max %.0f; %u runs of %zu)\n", name, f.median,
              f.min, f.max, FLAGS_repeat, count);
}

// Handles every datagram once and checks each got the expected outcome.
void HandleAll(Allocator& allocator, const Bench& bench,
               const std::vector<std::vector<uint8_t>>& datagrams, size_t count,
               std::optional<Refusal> want, absl::Time now) {
  for (size_t i = 0; i < count; ++i) {
    AllocatorResult r =
        allocator.Handle(datagrams[i % datagrams.size()], bench.source, now, bench.relay_addrs);
    if (r.refusal != want) {
      std::fprintf(stderr, "request %zu: unexpected outcome %s\n", i,
                   r.refusal ? std::string(RefusalName(*r.refusal)).c_str() : "accepted");
      std::exit(1);
    }
  }
}

int Run() {
  const size_t n = FLAGS_requests;
  const size_t n_new = std::max<size_t>(1, n / 10);
  Bench bench(n_new);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  VolatileLamportStore lamport;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Allocator> allocator;
  auto fresh = [&] {
    allocator.reset();
    registry = std::make_unique<Registry>(RegistryConfig{}, &lamport);
    allocator = std::make_unique<Allocator>(bench.Config(), &bench.policy, registry.get());
  };

  std::vector<std::vector<uint8_t>> unknown;
  for (size_t i = 0; i < kUnknownKeys; ++i) {
    const DiscoKeyPair stranger = GenerateKeyPair();
    unknown.push_back(Seal(stranger, bench.control.pub, stranger.pub, bench.a.pub, 1));
  }
  const Figures refused = Measure(
      n, fresh, [&] { HandleAll(*allocator, bench, unknown, n, Refusal::kNotAllowed, now); });
  if (allocator->stats().key_agreements != 0 || allocator->stats().box_opens != 0) {
    std::fprintf(stderr, "unknown keys cost crypto\n");
    return 1;
  }
  Print("unknown_key", n, refused);

  // One answered request, then replayed n times.
  const std::vector<std::vector<uint8_t>> once = {
      Seal(bench.a, bench.control.pub, bench.a.pub, bench.b.pub, 1)};
  const Figures replay = Measure(
      n,
      [&] {
        fresh();
        HandleAll(*allocator, bench, once, 1, std::nullopt, now);
      },
      [&] { HandleAll(*allocator, bench, once, n, Refusal::kReplay, now); });
  Print("replay", n, replay);

  std::vector<std::vector<uint8_t>> junk = {once[0]};
  junk[0].back() ^= 1;
  const Figures open_failed = Measure(
      n,
      [&] {
        fresh();
        HandleAll(*allocator, bench, junk, 1, Refusal::kOpenFailed, now);  // caches a's key
      },
      [&] { HandleAll(*allocator, bench, junk, n, Refusal::kOpenFailed, now); });
  Print("open_failed", n, open_failed);

  // Fresh nonces for the existing endpoint of (a, b), as retrying clients send.
  std::vector<std::vector<uint8_t>> fresh_requests;
  for (size_t i = 0; i < n; ++i) {
    fresh_requests.push_back(
        Seal(bench.a, bench.control.pub, bench.a.pub, bench.b.pub, static_cast<uint32_t>(i + 2)));
  }
  const Figures accepted = Measure(
      n,
      [&] {
        fresh();
        HandleAll(*allocator, bench, once, 1, std::nullopt, now);  // creates the endpoint
      },
      [&] { HandleAll(*allocator, bench, fresh_requests, n, std::nullopt, now); });
  Print("accepted", n, accepted);

  std::vector<std::vector<uint8_t>> new_pairs;
  for (const DiscoKeyPair& peer : bench.peers) {
    new_pairs.push_back(Seal(peer, bench.control.pub, peer.pub, bench.a.pub, 1));
  }
  const Figures accepted_new = Measure(
      n_new, fresh, [&] { HandleAll(*allocator, bench, new_pairs, n_new, std::nullopt, now); });
  Print("accepted_new", n_new, accepted_new);
  return 0;
}

}  // namespace
}  // namespace dprelay::control

int main(int argc, char** argv) {
  gflags::SetUsageMessage("CPU per allocation request in Allocator::Handle");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return dprelay::control::Run();
}
