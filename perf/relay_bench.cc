// dprelay-bench: per-core forwarding capacity of the relay worker against a peer emulator over
// ring-backed ports, and the same harness's bare-forwarding ceiling, in one run.
//   dprelay-bench -l 0-1 --no-huge --no-pci --no-shconf -m 2048 -- --sessions=1000
// With --packets=N it runs single-threaded until N packets were forwarded (for callgrind).
#include <arpa/inet.h>
#include <gflags/gflags.h>
#include <malloc.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "dataplane/main_lcore.h"
#include "dataplane/worker.h"
#include "drivers/eal.h"
#include "drivers/port.h"
#include "perf/bench_main.h"
#include "perf/peer_emulator.h"
#include "perf/ring_relay.h"
#include "proto/clock.h"

DEFINE_uint32(sessions, 1000, "sessions bound before traffic starts");
DEFINE_string(payloads, "86,512,1366", "UDP payload sizes to measure (Geneve header included)");
DEFINE_double(seconds, 3.0, "measured seconds per payload size and mode");
DEFINE_uint32(inflight, 512, "packets in the closed loop");
DEFINE_string(bind, "handshake",
              "handshake: Bind/Challenge/Answer per leg; install: pre-bound legs");
DEFINE_string(mode, "both", "relay, bare, or both");
DEFINE_uint32(repeat, 3, "alternating bare/relay measurements per size; median and range reported");
DEFINE_uint64(packets, 0, "single-threaded run until this many packets are forwarded (callgrind)");

namespace dprelay::perf {
namespace {

struct LoopArg {
  Worker* worker;  // nullptr: bare forwarding
  uint16_t port;
  std::atomic<bool>* stop;
  bool touch;  // bare forwarding that rewrites each packet's MACs (l2fwd) or not (io)
};

// The harness's ceilings: the same port and rings, no relay logic at all; either passing
// pointers only (testpmd's "io" mode) or also rewriting each packet's MACs (l2fwd, testpmd "mac").
int BareLoop(void* p) {
  auto* a = static_cast<LoopArg*>(p);
  rte_mbuf* pkts[kBurstSize];
  while (!a->stop->load(std::memory_order_relaxed)) {
    const uint16_t n = rte_eth_rx_burst(a->port, 0, pkts, kBurstSize);
    if (a->touch) {
      for (uint16_t i = 0; i < n; ++i) {
        auto* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
        rte_ether_addr tmp = eth->dst_addr;
        eth->dst_addr = eth->src_addr;
        eth->src_addr = tmp;
      }
    }
    const uint16_t sent = rte_eth_tx_burst(a->port, 0, pkts, n);
    if (sent < n) {
      rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    }
  }
  return 0;
}

int RelayLoop(void* p) {
  auto* a = static_cast<LoopArg*>(p);
  while (!a->stop->load(std::memory_order_relaxed)) {
    a->worker->Poll();
  }
  return 0;
}

void Drain(rte_ring* r) {
  void* obj;
  while (rte_ring_dequeue(r, &obj) == 0) {
    rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
}

int Run() {
  std::vector<uint32_t> payloads;
  for (absl::string_view s : absl::StrSplit(FLAGS_payloads, ',')) {
    uint32_t v;
    if (!absl::SimpleAtoi(s, &v) || v < 8 || v > 1458) {
      std::fprintf(stderr, "--payloads: '%s' is not a size in 8..1458\n", std::string(s).c_str());
      return 1;
    }
    payloads.push_back(v);
  }
  if (FLAGS_bind != "handshake" && FLAGS_bind != "install") {
    std::fprintf(stderr, "--bind=%s: expected handshake or install\n", FLAGS_bind.c_str());
    return 1;
  }
  const bool threaded = FLAGS_packets == 0;
  if (threaded && rte_lcore_count() < 2) {
    std::fprintf(stderr, "-l: give EAL two lcores (emulator and relay worker), e.g. -l 0-1\n");
    return 1;
  }

  const size_t heap_before = mallinfo2().uordblks + mallinfo2().hblkhd;
  absl::StatusOr<std::unique_ptr<RingRelay>> made = RingRelay::Create(FLAGS_sessions);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  RingRelay& harness = **made;
  rte_ring* e2r = harness.to_relay;
  rte_ring* r2e = harness.from_relay;
  SessionTable& table = *harness.table;
  LcoreCounters* counters = harness.counters;
  Worker& worker = *harness.worker;
  MainLcore& main = *harness.main;
  const PortInfo* port = &harness.port;

  EmulatorConfig ec{.sessions = FLAGS_sessions,
                    .payload = payloads[0],
                    .inflight = FLAGS_inflight,
                    .relay_ip_be = harness.relay_ip_be,
                    .relay_port_be = htons(kBenchRelayPort),
                    .gateway_ip_be = harness.gateway_ip_be};
  std::memcpy(ec.relay_mac, port->mac, 6);
  PeerEmulator emu(ec, e2r, r2e, harness.emulator_pool);
  auto pump = [&] { harness.Pump(); };
  emu.AnnounceGateway();
  pump();
  const uint64_t bind_start = MonotonicNs();
  if (!emu.BindAll(main, FLAGS_bind == "handshake", pump)) {
    std::fprintf(stderr, "binding the sessions failed; counters:\n");
    for (const auto& [n, v] : NamedCounters(main.Counters())) std::fprintf(stderr, "  %s=%lu\n", n.c_str(), v);
    return 1;
  }
  const double bind_s = double(MonotonicNs() - bind_start) / 1e9;
  const size_t heap_after = mallinfo2().uordblks + mallinfo2().hblkhd;
  std::printf("sessions=%u bind=%s bind_seconds=%.2f legs_bound=%lu binds_per_second=%.0f\n",
              FLAGS_sessions, FLAGS_bind.c_str(), bind_s, counters[1].legs_bound.load(),
              FLAGS_bind == "handshake" ? 2.0 * FLAGS_sessions / bind_s : 0.0);
  // Per session: the table's bytes per VNI of capacity (slot, leg counters of every lcore,
  // IPv6 side records when configured; capacity == sessions here) and the main lcore's
  // session state as the session manager accounts it. The heap growth measured around the
  // installs and binds (minus the leg counters and the emulator's own templates) is printed
  // as well: besides the session state it holds fixed tables (the reply limiters', the first
  // pool chunk) and allocator overhead.
  const double per_vni_to_session = double(FLAGS_sessions + 1) / FLAGS_sessions;
  const double control_state = double(main.sessions().MemoryBytes()) / FLAGS_sessions;
  const double measured = (double(heap_after) - double(heap_before) -
                           double(table.lcores()) * 2 * sizeof(LegStats) * (FLAGS_sessions + 1) -
                           double(emu.TemplateBytes())) /
                          FLAGS_sessions;
  std::printf(
      "memory_per_session slot=%zu leg_stats_per_lcore=%zu control_state=%.0f lcores=%u "
      "ipv6_legs=%zu total=%.0f\n",
      sizeof(SessionSlot), 2 * sizeof(LegStats), control_state, table.lcores(),
      table.ipv6() ? 2 * sizeof(LegFwd6) : 0,
      double(table.BytesPerVni()) * per_vni_to_session + control_state);
  std::printf("memory_measured main_lcore_heap_per_session=%.0f\n", measured);

  if (!threaded) {
    emu.SetPayload(payloads[0]);
    emu.Prime();
    while (counters[0].forwarded_packets.load() < FLAGS_packets) {
      worker.Poll();
      emu.Step();
    }
    std::printf("forwarded_packets=%lu payload=%u\n", counters[0].forwarded_packets.load(),
                payloads[0]);
    return 0;
  }

  unsigned relay_lcore = rte_get_next_lcore(-1, 1, 0);
  // One measurement: the given loop on the relay lcore, the emulator here, closed loop.
  auto measure = [&](bool bare, bool touch, double* relay_counted) {
    std::atomic<bool> stop{false};
    LoopArg arg{bare ? nullptr : &worker, port->port_id, &stop, touch};
    rte_eal_remote_launch(bare ? BareLoop : RelayLoop, &arg, relay_lcore);
    emu.Prime();
    const uint64_t warm_end = MonotonicNs() + 200'000'000;
    while (MonotonicNs() < warm_end) emu.Step();
    const uint64_t r0 = emu.received(), f0 = counters[0].forwarded_packets.load(),
                   t0 = MonotonicNs();
    const uint64_t end = t0 + static_cast<uint64_t>(FLAGS_seconds * 1e9);
    uint64_t now = t0;
    while (now < end) {
      for (int i = 0; i < 64; ++i) emu.Step();
      now = MonotonicNs();
    }
    const double us = double(now - t0) / 1e3;
    const double mpps = double(emu.received() - r0) / us;
    // The relay's own count must agree with what the emulator saw come back.
    *relay_counted = double(counters[0].forwarded_packets.load() - f0) / us;
    stop.store(true);
    rte_eal_wait_lcore(relay_lcore);
    Drain(e2r);
    Drain(r2e);
    return mpps;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (uint32_t payload : payloads) {
    emu.SetPayload(payload);
    std::vector<double> bare, l2fwd, relay, ratio, ratio_l2;
    double counted = 0;
    for (uint32_t r = 0; r < std::max(1u, FLAGS_repeat); ++r) {
      double ignored;
      const bool ceilings = FLAGS_mode != "relay";
      double b = ceilings ? measure(true, false, &ignored) : 0;
      double l = ceilings ? measure(true, true, &ignored) : 0;
      double x = FLAGS_mode == "bare" ? 0 : measure(false, false, &counted);
      bare.push_back(b);
      l2fwd.push_back(l);
      relay.push_back(x);
      ratio.push_back(b > 0 ? x / b : 0);
      ratio_l2.push_back(l > 0 ? x / l : 0);
    }
    std::printf(
        "payload=%u sessions=%u bare_mpps=%.3f l2fwd_mpps=%.3f relay_mpps=%.3f ratio=%.3f "
        "ratio_l2fwd=%.3f relay_min=%.3f relay_max=%.3f ratio_min=%.3f ratio_max=%.3f runs=%zu "
        "relay_counted_mpps=%.3f\n",
        payload, FLAGS_sessions, median(bare), median(l2fwd), median(relay), median(ratio),
        median(ratio_l2), *std::min_element(relay.begin(), relay.end()),
        *std::max_element(relay.begin(), relay.end()),
        *std::min_element(ratio.begin(), ratio.end()),
        *std::max_element(ratio.begin(), ratio.end()), relay.size(), counted);
    std::fflush(stdout);
  }
  std::printf("unexpected_packets=%lu\n", emu.unexpected());
  for (const auto& [n, v] : NamedCounters(main.Counters())) {
    if (n.rfind("drop_", 0) == 0) std::printf("%s=%lu\n", n.c_str(), v);
  }
  return 0;
}

}  // namespace
}  // namespace dprelay::perf

int main(int argc, char** argv) {
  return dprelay::perf::BenchMain(argc, argv, dprelay::perf::Run);
}
