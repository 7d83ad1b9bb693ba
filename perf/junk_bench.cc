// dprelay-junk-bench: what junk costs the relay's main lcore, and how many legitimate binds per
// second it sustains while junk arrives (issue 10's benchmark). The real worker and main lcore
// on a ring port (perf/ring_relay.h), the peer emulator binding legs through the handshake.
//
// Binds under junk (two lcores: the emulator here, the relay's worker and main lcore together
// on the other, as dprelay-dataplane runs with one lcore):
//   dprelay-junk-bench -l 0-1 --no-huge --no-pci --no-shconf -m 2048 -- --junk_pps=1000000
// Each round binds --sessions sessions (2 legs each) with no junk, then with each class of junk
// offered at --junk_pps; it prints binds/s per class and the ratio to the no-junk rounds.
//
// Instructions per junk packet (single-threaded, for callgrind):
//   valgrind --tool=callgrind --toggle-collect='dprelay::perf::*RelayJunk*' dprelay-junk-bench
//     -l 0 --no-huge --no-pci --no-shconf -m 512 -- --instructions=100000 --classes=arp
#include <gflags/gflags.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "drivers/eal.h"
#include "perf/junk_frames.h"
#include "perf/bench_main.h"
#include "perf/peer_emulator.h"
#include "perf/ring_relay.h"
#include "proto/clock.h"

DEFINE_uint32(sessions, 20000, "sessions bound per round (two legs each)");
DEFINE_double(junk_pps, 1e6, "junk offered per second while binding");
DEFINE_string(classes, "control_open,control_open_all,control_unknown,arp,icmp",
              "junk classes to measure");
DEFINE_uint32(rounds, 3, "rounds (each: no junk, then each class); medians are reported");
DEFINE_uint32(window, 256, "legs with a Bind outstanding at once");
DEFINE_uint64(instructions, 0, "single-threaded: feed this many junk packets of each class");

namespace dprelay::perf {
namespace {

constexpr unsigned kBurst = 32;
constexpr uint64_t kRetryNs = 20'000'000;  // a Bind unanswered this long is sent again

struct Junk {
  std::vector<std::vector<uint8_t>> frames;
  size_t next = 0;
  // Enqueues up to n (<= kBurst) junk frames towards the relay in one burst, so that making
  // junk costs the emulator (which also plays the binding clients) as little as it can;
  // returns how many fitted in the ring and the pool.
  unsigned Send(rte_ring* ring, rte_mempool* pool, unsigned n) {
    rte_mbuf* m[kBurst];
    n = std::min(n, kBurst);
    if (n == 0 || rte_pktmbuf_alloc_bulk(pool, m, n) != 0) {
      return 0;
    }
    for (unsigned i = 0; i < n; ++i) {
      const std::vector<uint8_t>& f = frames[next];
      next = next + 1 == frames.size() ? 0 : next + 1;
      std::memcpy(rte_pktmbuf_append(m[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
    }
    const unsigned sent = rte_ring_enqueue_burst(ring, reinterpret_cast<void**>(m), n, nullptr);
    if (sent < n) {
      rte_pktmbuf_free_bulk(m + sent, n - sent);
    }
    return sent;
  }
};

struct RoundResult {
  double seconds = 0;
  uint64_t legs_bound = 0;
  uint64_t junk_offered = 0;
  uint64_t retries = 0;   // Binds sent again (no Challenge within kRetryNs)
  uint64_t answered = 0;  // Challenges answered
  double binds_per_second() const { return seconds > 0 ? double(legs_bound) / seconds : 0; }
  double junk_pps() const { return seconds > 0 ? double(junk_offered) / seconds : 0; }
};

// Binds every leg of sessions first..last through the relay running on another lcore, with
// `junk` (if any) offered at --junk_pps, as a client would: a window of outstanding Binds, an
// Answer for each Challenge, a Bind sent again after kRetryNs without a Challenge. The ring
// towards the relay stands for the NIC's RX queue: what does not fit is not offered (the
// junk rate achieved is reported), and Binds are offered first.
RoundResult BindRound(RingRelay& relay, PeerEmulator& emu, uint32_t first, uint32_t last,
                      Junk* junk) {
  const uint32_t legs = 2 * (last - first + 1);
  enum : uint8_t { kNotSent, kBindSent, kAnswered };
  std::vector<uint8_t> stage(legs, kNotSent);
  std::vector<uint64_t> sent_ns(legs, 0);
  std::deque<uint32_t> outstanding;
  uint32_t next = 0, answered = 0, in_flight = 0;
  const uint64_t bound_before = relay.counters[1].legs_bound.load();
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t0 = rte_rdtsc();
  uint64_t junk_sent = 0;
  const uint64_t deadline = MonotonicNs() + 10'000'000'000ull;  // report what bound by then
  uint64_t retries = 0;
  auto send_bind = [&](uint32_t i, uint64_t now) {
    if (emu.SendBindMessage(first + i / 2, static_cast<int>(i % 2),
                            DiscoType::kBindUdpRelayEndpoint, Challenge{})) {
      stage[i] = kBindSent;
      sent_ns[i] = now;
      outstanding.push_back(i);
      return true;
    }
    return false;
  };
  while (answered < legs) {
    const uint64_t now = MonotonicNs();
    if (now > deadline) {
      break;
    }
    while (in_flight < FLAGS_window && next < legs && send_bind(next, now)) {
      ++next;
      ++in_flight;
    }
    if (junk != nullptr) {
      const uint64_t due = static_cast<uint64_t>(double(rte_rdtsc() - t0) / double(hz) *
                                                 FLAGS_junk_pps);
      if (junk_sent < due) {
        junk_sent += junk->Send(relay.to_relay, relay.emulator_pool,
                                static_cast<unsigned>(std::min<uint64_t>(due - junk_sent, kBurst)));
      }
      junk_sent = std::max(junk_sent, due > 4096 ? due - 4096 : 0);  // no catching up later
    }
    rte_mbuf* pkts[kBurst];
    const unsigned n = rte_ring_dequeue_burst(relay.from_relay, reinterpret_cast<void**>(pkts),
                                              kBurst, nullptr);
    for (unsigned k = 0; k < n; ++k) {
      uint32_t vni;
      int leg;
      Challenge challenge;
      if (emu.ReadChallenge(pkts[k], &vni, &leg, &challenge) && vni >= first && vni <= last) {
        const uint32_t i = (vni - first) * 2 + static_cast<uint32_t>(leg);
        if (stage[i] == kBindSent &&
            emu.SendBindMessage(vni, leg, DiscoType::kBindUdpRelayEndpointAnswer, challenge)) {
          stage[i] = kAnswered;
          ++answered;
          --in_flight;
        }
      }
      rte_pktmbuf_free(pkts[k]);
    }
    while (!outstanding.empty() && stage[outstanding.front()] == kAnswered) {
      outstanding.pop_front();
    }
    if (!outstanding.empty() && now - sent_ns[outstanding.front()] > kRetryNs) {
      const uint32_t i = outstanding.front();
      outstanding.pop_front();
      ++retries;
      if (!send_bind(i, now)) {  // the ring was full: try again later
        sent_ns[i] = now;
        outstanding.push_back(i);
      }
    }
  }
  RoundResult r;
  // Until the relay has handled the last Answers.
  const uint64_t settle = MonotonicNs() + 100'000'000;
  while (relay.counters[1].legs_bound.load() - bound_before < answered && MonotonicNs() < settle) {
  }
  r.seconds = double(rte_rdtsc() - t0) / double(hz);
  r.legs_bound = relay.counters[1].legs_bound.load() - bound_before;
  r.junk_offered = junk_sent;
  r.retries = retries;
  r.answered = answered;
  return r;
}

int RelayLoop(void* p) {
  auto* a = static_cast<std::pair<RingRelay*, std::atomic<bool>*>*>(p);
  while (!a->second->load(std::memory_order_relaxed)) {
    a->first->worker->Poll();
    a->first->main->Poll(MonotonicNs());
  }
  return 0;
}

// Single-threaded: `count` junk frames through the worker and the main lcore. Callgrind's
// --toggle-collect names this function.
__attribute__((noinline)) void RelayJunk(RingRelay& relay, Junk& junk, uint64_t count) {
  for (uint64_t sent = 0; sent < count;) {
    sent += junk.Send(relay.to_relay, relay.emulator_pool,
                      static_cast<unsigned>(std::min<uint64_t>(count - sent, kBurst)));
    relay.Pump();
    void* obj;
    while (rte_ring_dequeue(relay.from_relay, &obj) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Run() {
  std::vector<JunkClass> classes;
  for (absl::string_view s : absl::StrSplit(FLAGS_classes, ',')) {
    std::optional<JunkClass> c = ParseJunkClass(std::string_view(s.data(), s.size()));
    if (!c) {
      std::fprintf(stderr,
                   "--classes: '%s' is not control_open, control_open_all, control_unknown, "
                   "arp or icmp\n",
                   std::string(s).c_str());
      return 1;
    }
    classes.push_back(*c);
  }
  const bool threaded = FLAGS_instructions == 0;
  if (threaded && rte_lcore_count() < 2) {
    std::fprintf(stderr, "-l: give EAL two lcores (emulator and relay), e.g. -l 0-1\n");
    return 1;
  }
  const uint32_t per_round = threaded ? FLAGS_sessions : 1000;
  const uint32_t rounds = threaded ? FLAGS_rounds * (1 + classes.size()) : 1;
  // One more session: the one kControlOpen junk names, never bound.
  const uint32_t capacity = per_round * rounds + 1;
  absl::StatusOr<std::unique_ptr<RingRelay>> made = RingRelay::Create(capacity);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  RingRelay& relay = **made;
  EmulatorConfig ec{.sessions = capacity,
                    .relay_ip_be = relay.relay_ip_be,
                    .relay_port_be = htons(kBenchRelayPort),
                    .gateway_ip_be = relay.gateway_ip_be};
  std::memcpy(ec.relay_mac, relay.port.mac, 6);
  PeerEmulator emu(ec, relay.to_relay, relay.from_relay, relay.emulator_pool);
  emu.AnnounceGateway();
  relay.Pump();
  // Every round's sessions are installed up front: installs are control's work, not timed.
  if (!emu.Install(*relay.main, 1, capacity, /*handshake=*/true)) {
    std::fprintf(stderr, "installing %u sessions failed\n", capacity);
    return 1;
  }
  const JunkTarget target{.relay_ip_be = relay.relay_ip_be,
                          .relay_port_be = htons(kBenchRelayPort),
                          .sessions = capacity,
                          .vni = capacity,
                          .client_key = emu.client_key(0)};
  std::vector<Junk> junk(classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    JunkTarget t = target;
    std::memcpy(t.relay_mac, relay.port.mac, 6);
    junk[c].frames = MakeJunk(classes[c], t, 4096);
  }

  if (!threaded) {
    for (size_t c = 0; c < classes.size(); ++c) {
      RelayJunk(relay, junk[c], FLAGS_instructions);
      std::printf("class=%s junk_packets=%lu\n", JunkClassName(classes[c]), FLAGS_instructions);
    }
    for (const auto& [n, v] : NamedCounters(relay.main->Counters())) {
      if (v != 0 && (n.rfind("drop_", 0) == 0 || n.find("repl") != std::string::npos)) {
        std::printf("%s=%lu\n", n.c_str(), v);
      }
    }
    return 0;
  }

  std::atomic<bool> stop{false};
  std::pair<RingRelay*, std::atomic<bool>*> arg{&relay, &stop};
  const unsigned relay_lcore = rte_get_next_lcore(-1, 1, 0);
  rte_eal_remote_launch(RelayLoop, &arg, relay_lcore);
  std::vector<double> clean;
  std::vector<std::vector<double>> dirty(classes.size()), offered(classes.size());
  uint32_t first = 1;
  auto round = [&](Junk* j) {
    RoundResult r = BindRound(relay, emu, first, first + per_round - 1, j);
    first += per_round;
    return r;
  };
  for (uint32_t k = 0; k < FLAGS_rounds; ++k) {
    RoundResult none = round(nullptr);
    clean.push_back(none.binds_per_second());
    std::printf("round=%u junk=none legs_bound=%lu seconds=%.3f binds_per_second=%.0f\n", k,
                none.legs_bound, none.seconds, none.binds_per_second());
    for (size_t c = 0; c < classes.size(); ++c) {
      RoundResult r = round(&junk[c]);
      dirty[c].push_back(r.binds_per_second());
      offered[c].push_back(r.junk_pps());
      std::printf(
          "round=%u junk=%s junk_pps=%.0f legs_bound=%lu answered=%lu retries=%lu seconds=%.3f "
          "binds_per_second=%.0f\n",
          k, JunkClassName(classes[c]), r.junk_pps(), r.legs_bound, r.answered, r.retries,
          r.seconds, r.binds_per_second());
      std::fflush(stdout);
    }
  }
  stop.store(true);
  rte_eal_wait_lcore(relay_lcore);
  const double base = Median(clean);
  std::printf("summary junk=none binds_per_second=%.0f\n", base);
  for (size_t c = 0; c < classes.size(); ++c) {
    std::printf("summary junk=%s junk_pps=%.0f binds_per_second=%.0f ratio=%.3f\n",
                JunkClassName(classes[c]), Median(offered[c]), Median(dirty[c]),
                base > 0 ? Median(dirty[c]) / base : 0);
  }
  for (const auto& [n, v] : NamedCounters(relay.main->Counters())) {
    if (v != 0 && n.rfind("drop_", 0) == 0) {
      std::printf("%s=%lu\n", n.c_str(), v);
    }
  }
  return 0;
}

}  // namespace
}  // namespace dprelay::perf

int main(int argc, char** argv) {
  return dprelay::perf::BenchMain(argc, argv, dprelay::perf::Run);
}
