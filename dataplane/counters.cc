#include "dataplane/counters.h"

namespace dprelay {
namespace {

using C = DataplaneCounter;

// Catalogue counters that are one LcoreCounters member summed over the lcores.
struct Direct {
  DataplaneCounter id;
  std::atomic<uint64_t> LcoreCounters::*member;
};
constexpr Direct kDirect[] = {
    {C::kRxPackets, &LcoreCounters::rx_packets},
    {C::kTxPackets, &LcoreCounters::tx_packets},
    {C::kChallengesSent, &LcoreCounters::challenges_sent},
    {C::kLegsBound, &LcoreCounters::legs_bound},
    {C::kArpReplies, &LcoreCounters::arp_replies},
    {C::kArpRequests, &LcoreCounters::arp_requests},
    {C::kIcmpEchoReplies, &LcoreCounters::icmp_echo_replies},
    {C::kNdAdvertisements, &LcoreCounters::nd_advertisements},
    {C::kNdSolicitations, &LcoreCounters::nd_solicitations},
    {C::kMldReports, &LcoreCounters::mld_reports},
    {C::kToException, &LcoreCounters::to_exception},
    {C::kExceptionToKernel, &LcoreCounters::exception_to_kernel},
    {C::kExceptionFromKernel, &LcoreCounters::exception_from_kernel},
    {C::kWorkerCycles, &LcoreCounters::worker_cycles},
    {C::kWorkerBusyCycles, &LcoreCounters::worker_busy_cycles},
    {C::kIpcQueuedMessages, &LcoreCounters::ipc_queued_messages},
    {C::kIpcPendingMessages, &LcoreCounters::ipc_pending_messages},
    {C::kIpcQueueOverflows, &LcoreCounters::ipc_queue_overflows},
    {C::kIpcRefusedPeers, &LcoreCounters::ipc_refused_peers},
};

// The forwarding directions: IPv4 -> IPv4 has its own members (counted once per burst on the
// IPv4 fast path), the others are indexed by FamilyPath.
struct Direction {
  DataplaneCounter packets, bytes;
};
constexpr Direction kV4ToV4 = {C::kForwardedPackets44, C::kForwardedBytes44};
constexpr Direction kPaths[kNumFamilyPaths] = {
    {C::kForwardedPackets46, C::kForwardedBytes46},  // FamilyPath::kV4ToV6
    {C::kForwardedPackets64, C::kForwardedBytes64},  // FamilyPath::kV6ToV4
    {C::kForwardedPackets66, C::kForwardedBytes66},  // FamilyPath::kV6ToV6
};

constexpr DataplaneCounter kToMain[kNumMainClasses] = {C::kToMainHandshake, C::kToMainNeighbour,
                                                       C::kToMainIcmp};

// Every catalogue counter is filled exactly once: direct, per direction (twice, plus the two
// totals), per class of work (plus its total).
static_assert(std::size(kDirect) + 2 * (1 + kNumFamilyPaths) + 2 + kNumMainClasses + 1 ==
                  kNumDataplaneCounters,
              "a counter of proto/counter_catalogue.h is not summed in SumCounters");

// The catalogue's rings start with the main lcore's, in class order, with the same overflow.
constexpr bool RingsAgree() {
  for (size_t cls = 0; cls < kNumMainClasses; ++cls) {
    if (kMainClasses[cls].overflow != kRings[cls].overflow) {
      return false;
    }
  }
  return true;
}
static_assert(RingsAgree(), "kRings (proto/counter_catalogue.h) disagrees with kMainClasses");

}  // namespace

DataplaneCounterValues SumCounters(const LcoreCounters* blocks, size_t n) {
  DataplaneCounterValues v;
  auto load = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  for (size_t i = 0; i < n; ++i) {
    const LcoreCounters& b = blocks[i];
    for (const Direct& d : kDirect) {
      v[d.id] += load(b.*d.member);
    }
    v[kV4ToV4.packets] += load(b.forwarded_packets);
    v[kV4ToV4.bytes] += load(b.forwarded_bytes);
    for (size_t p = 0; p < kNumFamilyPaths; ++p) {
      v[kPaths[p].packets] += load(b.family_packets[p]);
      v[kPaths[p].bytes] += load(b.family_bytes[p]);
    }
    for (size_t cls = 0; cls < kNumMainClasses; ++cls) {
      v[kToMain[cls]] += load(b.to_main[cls]);
    }
    for (size_t r = 0; r < kNumDropReasons; ++r) {
      v.drops[r] += load(b.drops[r]);
    }
  }
  v[C::kForwardedPackets] = v[kV4ToV4.packets];
  v[C::kForwardedBytes] = v[kV4ToV4.bytes];
  for (const Direction& d : kPaths) {
    v[C::kForwardedPackets] += v[d.packets];
    v[C::kForwardedBytes] += v[d.bytes];
  }
  for (DataplaneCounter c : kToMain) {
    v[C::kToMain] += v[c];
  }
  return v;
}

}  // namespace dprelay
