#include "dataplane/worker.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "dataplane/fast_match.h"
#include "dataplane/packet_headers.h"
#include "dataplane/worker_inl.h"
#include "proto/geneve.h"

namespace dprelay {
namespace {

using worker_internal::Drop;
using worker_internal::Load16;
using worker_internal::Load32;
using worker_internal::NotRelay;
using worker_internal::PacketResult;
using worker_internal::ToMain;
using worker_internal::Verdict;

constexpr uint16_t kEtherTypeIpv4 = RTE_BE16(RTE_ETHER_TYPE_IPV4);
constexpr uint16_t kEtherTypeIpv6 = RTE_BE16(RTE_ETHER_TYPE_IPV6);
constexpr uint16_t kEtherTypeArp = RTE_BE16(RTE_ETHER_TYPE_ARP);
constexpr uint16_t kFragMask = RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);

// What the fast path reads for every packet, copied into locals once per burst: the compiler
// must assume that each byte stored into a packet may alias the worker's own fields, and would
// reload them after every store.
struct FastView {
  const SessionSlot* slots;
  LegStats* leg_stats;
  uint32_t capacity;
  FastMatch match;
};

// addr_be, port_be, bound and next_hop of a leg in one load (layout asserted with LegFwd).
__attribute__((always_inline)) inline uint64_t LegMatchWord(const LegFwd& l) {
  uint64_t w;
  std::memcpy(&w, &l, sizeof(w));
  return w;
}
// A packet's source matches a leg when address, port and family equal (next_hop ignored).
constexpr uint64_t kLegMatchMask = 0x00ffffffffffffffull;
// The leg a fast-path packet goes to: IPv4, with a resolved next hop (bound and next_hop).
constexpr uint64_t kFastTarget = kLegV4 | uint64_t{static_cast<uint8_t>(NextHopState::kResolved)}
                                              << 8;

// RFC 1624 with the relay's address and port cancelling out (LegFwd::addr_port_sum).
__attribute__((always_inline)) inline uint16_t ForwardedUdpChecksum(uint16_t csum, uint16_t to_sum,
                                                                    uint16_t from_sum) {
  const uint32_t sum =
      CsumFold(uint32_t{static_cast<uint16_t>(~csum)} + to_sum + static_cast<uint16_t>(~from_sum));
  const uint16_t out = static_cast<uint16_t>(~sum);
  return out == 0 ? 0xffff : out;
}

// Forwards an IPv4 data packet that passed FastMatch (so its length is exactly its headers
// plus payload_len) between two IPv4 legs: match the source with one 64-bit compare per leg,
// read the other leg's template and checksum terms into registers inside one seqcount read
// section, and only once that read is known consistent write them into the packet. Whatever
// else (an IPv6 leg, an unbound or unresolved leg, an unknown source, a read that raced the
// main lcore's write) goes, with the packet untouched, to the any-family path, which runs its
// own read section and finds the exact outcome.
__attribute__((always_inline)) inline PacketResult ForwardData(const WorkerContext& ctx,
                                                               const FastView& view, rte_mbuf* m,
                                                               uint8_t* p, uint32_t vni,
                                                               uint32_t payload_len) noexcept {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + kEthHdrLen);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p + kEthHdrLen + kIpv4HdrLen);
  const SessionSlot& slot = view.slots[vni];
  const uint64_t key = uint64_t{Load32(p + kEthHdrLen + 12)} |
                       uint64_t{Load16(p + kEthHdrLen + kIpv4HdrLen)} << 32 |
                       uint64_t{kLegV4} << 48;
  const uint32_t seq = rte_seqcount_read_begin(&slot.seq);
  const uint64_t w0 = LegMatchWord(slot.leg[0]);
  const uint64_t w1 = LegMatchWord(slot.leg[1]);
  const int from = (w0 & kLegMatchMask) == key ? 0 : (w1 & kLegMatchMask) == key ? 1 : -1;
  if (likely(from >= 0 && ((from == 0 ? w1 : w0) >> 48) == kFastTarget)) {
    const LegFwd& to = slot.leg[1 - from];
    const HeaderRegs hdr = HeaderRegs::Load(to.hdr);
    const uint16_t ip_sum = to.ip_sum;
    const uint16_t to_sum = to.addr_port_sum;
    const uint16_t from_sum = slot.leg[from].addr_port_sum;
    if (likely(!rte_seqcount_read_retry(&slot.seq, seq))) {
      const uint16_t tot_len_be = ip->total_length;
      const uint16_t udp_len_be = udp->dgram_len;
      const uint16_t udp_csum = udp->dgram_cksum;
      hdr.Store(p);
      ip->total_length = tot_len_be;
      // Two 16-bit terms: one fold is enough.
      const uint32_t sum = uint32_t{ip_sum} + tot_len_be;
      ip->hdr_checksum = static_cast<uint16_t>(~((sum & 0xffff) + (sum >> 16)));
      udp->dgram_len = udp_len_be;
      // An IPv4 sender that sent no checksum (0) gets none forwarded either.
      udp->dgram_cksum = udp_csum == 0 ? 0 : ForwardedUdpChecksum(udp_csum, to_sum, from_sum);
      LegStats& st = view.leg_stats[size_t{vni} * 2 + from];
      Bump(st.packets);
      Bump(st.bytes, payload_len);
      return worker_internal::Forward();
    }
  }
  return worker_internal::ForwardAnyFamily(ctx, view.leg_stats, m, false, vni, payload_len);
}

// The complete classifier: every check in order, each failure with its own drop reason. The
// fast path below sends here whatever it does not recognise at a glance.
__attribute__((noinline)) PacketResult ClassifySlow(const WorkerContext& ctx, LegStats* leg_stats,
                                                    rte_mbuf* m) noexcept {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  // Headers and lengths are read from the first segment only; the fast path never accepts a
  // multi-segment frame (its lengths cannot match the first segment's), so this costs it
  // nothing.
  if (unlikely(m->next != nullptr)) {
    return Drop(DropReason::kChainedMbuf);
  }
  if (len < kEthHdrLen) {
    return Drop(DropReason::kEthRunt);
  }
  const uint16_t ether_type = reinterpret_cast<const rte_ether_hdr*>(p)->ether_type;
  if (ether_type == kEtherTypeArp) {
    return ToMain(MainClass::kNeighbour);
  }
  if (ether_type == kEtherTypeIpv6) {
    return worker_internal::ClassifyIpv6(ctx, leg_stats, m);
  }
  if (ether_type != kEtherTypeIpv4) {
    return Drop(DropReason::kUnsupportedEthertype);
  }
  if (len < kEthHdrLen + kIpv4HdrLen) {
    return Drop(DropReason::kIpRunt);
  }
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + kEthHdrLen);
  if ((ip->version_ihl >> 4) != 4) {
    return Drop(DropReason::kIpBadVersion);
  }
  const uint8_t ihl = ip->version_ihl & 0x0f;
  if (ihl < 5) {
    return Drop(DropReason::kIpBadHeaderLength);
  }
  if (ihl > 5) {
    return Drop(DropReason::kIpOptions);
  }
  const uint16_t tot_len = rte_be_to_cpu_16(ip->total_length);
  if (tot_len < kIpv4HdrLen || kEthHdrLen + tot_len > len) {
    return Drop(DropReason::kIpBadTotalLength);
  }
  if (ip->dst_addr != ctx.local_ip_be) {
    return Drop(DropReason::kNotLocal);
  }
  if ((ip->fragment_offset & kFragMask) != 0) {
    return Drop(DropReason::kIpFragment);
  }
  if (!worker_internal::Ipv4HeaderChecksumOk(p + kEthHdrLen)) {
    return Drop(DropReason::kIpBadChecksum);
  }
  if (ip->next_proto_id == IPPROTO_ICMP) {
    return ToMain(MainClass::kIcmp);
  }
  if (ip->next_proto_id != IPPROTO_UDP) {
    return NotRelay(ctx, DropReason::kUnsupportedL4);
  }
  if (tot_len < kIpv4HdrLen + kUdpHdrLen) {
    return Drop(DropReason::kUdpRunt);
  }
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p + kEthHdrLen + kIpv4HdrLen);
  const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  if (udp_len < kUdpHdrLen || udp_len > tot_len - kIpv4HdrLen) {
    return Drop(DropReason::kUdpBadLength);
  }
  if (udp->dst_port != ctx.relay_port_be) {
    return NotRelay(ctx, DropReason::kNotRelayPort);
  }
  uint32_t vni = 0;
  const uint32_t payload_len = udp_len - kUdpHdrLen;
  const PacketResult r = worker_internal::ClassifyRelayPayload(
      ctx, reinterpret_cast<const uint8_t*>(udp + 1), payload_len, &vni);
  if (r.verdict != Verdict::kForward) {
    return r;
  }
  return worker_internal::ForwardAnyFamily(ctx, leg_stats, m, false, vni, payload_len);
}

// The fast path: FastMatch's look at the headers, then the Geneve flags (data: neither control
// nor STUN, b[1] == 0) and a VNI inside the table. Anything else goes to ClassifySlow, which
// finds the exact reason.
// *fwd_bytes accumulates the payload of what it forwards IPv4 -> IPv4.
__attribute__((always_inline)) inline PacketResult ProcessPacket(const WorkerContext& ctx,
                                                                 const FastView& view, rte_mbuf* m,
                                                                 uint64_t* fwd_bytes) noexcept {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (likely(view.match.Matches(p, len) &&
             worker_internal::Ipv4HeaderChecksumOk(p + kEthHdrLen))) {
    const uint8_t* geneve = p + kV4HeaderLen;
    const uint32_t vni = GeneveVni(geneve);
    if (likely(geneve[1] == 0 && vni - 1 < view.capacity)) {
      const PacketResult r = ForwardData(ctx, view, m, p, vni, len - kV4HeaderLen);
      *fwd_bytes += r.verdict == Verdict::kForward ? len - kV4HeaderLen : 0;
      return r;
    }
  }
  const PacketResult r = ClassifySlow(ctx, view.leg_stats, m);
  if (r.verdict == Verdict::kForward) {
    *fwd_bytes += rte_pktmbuf_data_len(m) - kV4HeaderLen;  // trimmed to the datagram
  }
  return r;
}

// Peeks at where the VNI sits in an IPv4 packet without options. For any other packet the
// bytes are something else (always inside the mbuf's data room, which is far larger than 50
// bytes): the clamp keeps the address inside the table, and a useless prefetch is harmless.
__attribute__((always_inline)) inline void PrefetchSession(const FastView& view,
                                                           const rte_mbuf* m) noexcept {
  const uint32_t vni =
      std::min(GeneveVni(rte_pktmbuf_mtod(m, const uint8_t*) + kV4HeaderLen), view.capacity);
  const auto* slot = reinterpret_cast<const char*>(&view.slots[vni]);
  rte_prefetch0(slot);
  rte_prefetch0(slot + 64);
  rte_prefetch0(&view.leg_stats[size_t{vni} * 2]);
}

}  // namespace

worker_internal::PacketResult worker_internal::ProcessPacketForTest(const WorkerContext& ctx,
                                                                    LegStats* leg_stats,
                                                                    rte_mbuf* m) noexcept {
  const FastView view{.slots = ctx.table->slots(),
                      .leg_stats = leg_stats,
                      .capacity = ctx.table->capacity(),
                      .match = FastMatch(ctx.local_ip_be, ctx.relay_port_be)};
  uint64_t fwd_bytes = 0;
  return ProcessPacket(ctx, view, m, &fwd_bytes);
}

Worker::Worker(const WorkerContext& ctx)
    : flush_tsc_(rte_get_tsc_hz() / 10),
      ctx_(ctx),
      leg_stats_(ctx.table->stats_block(ctx.lcore_index)) {}

void Worker::DrainMainTx() noexcept {
  rte_mbuf* pkts[kBurstSize];
  const unsigned n = rte_ring_dequeue_burst(ctx_.tx_from_main, reinterpret_cast<void**>(pkts),
                                            kBurstSize, nullptr);
  if (n == 0) {
    return;
  }
  const uint16_t sent = rte_eth_tx_burst(ctx_.port_id, ctx_.tx_queue, pkts, n);
  if (sent < n) {
    ctx_.counters->Drop(DropReason::kTxFull, n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
  Bump(ctx_.counters->tx_packets, sent);
}

uint16_t Worker::PollAndAccount() noexcept {
  const uint64_t start = rte_rdtsc();
  if (last_tsc_ == 0) {
    last_tsc_ = start;
  }
  const uint16_t n = Poll();
  const uint64_t end = rte_rdtsc();
  cycles_ += end - last_tsc_;  // includes any idle sleep since the previous call
  if (n != 0) {
    busy_cycles_ += end - start;
  }
  last_tsc_ = end;
  if (++loops_ == kCycleFlush || cycles_ >= flush_tsc_) {
    Bump(ctx_.counters->worker_cycles, cycles_);
    Bump(ctx_.counters->worker_busy_cycles, busy_cycles_);
    loops_ = 0;
    cycles_ = busy_cycles_ = 0;
  }
  return n;
}

uint16_t Worker::Poll() noexcept {
  if (ctx_.tx_from_main != nullptr) {
    DrainMainTx();
  }
  rte_mbuf* rx[kBurstSize];
  const uint16_t n = rte_eth_rx_burst(ctx_.port_id, ctx_.rx_queue, rx, kBurstSize);
  if (n == 0) {
    return 0;
  }
  rte_mbuf* tx[kBurstSize];
  rte_mbuf* main[kNumMainClasses][kBurstSize];
  uint16_t n_main[kNumMainClasses] = {};
  rte_mbuf* exception[kBurstSize];
  uint16_t n_tx = 0, n_exception = 0, n_fwd4 = 0;
  uint64_t fwd_bytes = 0;
  LcoreCounters& c = *ctx_.counters;
  const FastView view{.slots = ctx_.table->slots(),
                      .leg_stats = leg_stats_,
                      .capacity = ctx_.table->capacity(),
                      .match = FastMatch(ctx_.local_ip_be, ctx_.relay_port_be)};
  // Two prefetch stages hide the two dependent misses of a packet: its data (written by the
  // NIC or another core) for the whole burst first, then, a few packets ahead, the session slot
  // and leg counters its VNI selects (random over the table when sessions are many).
  for (uint16_t i = 0; i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
  }
  // Half a burst ahead: with 1M sessions, 16 beat 8 in A/B runs of the benchmark (0.64 vs
  // 0.56 of the harness's 1M ceiling, the same run conditions); with few sessions it does not
  // matter (the slots are in cache).
  constexpr uint16_t kSlotAhead = 16;
  for (uint16_t i = 0; i < n && i < kSlotAhead; ++i) {
    PrefetchSession(view, rx[i]);
  }
  auto handle = [&](rte_mbuf * m) __attribute__((always_inline)) {
    const PacketResult r = ProcessPacket(ctx_, view, m, &fwd_bytes);
    switch (r.verdict) {
      case Verdict::kForward:
        ++n_fwd4;
        tx[n_tx++] = m;
        break;
      case Verdict::kForwardCounted:
        tx[n_tx++] = m;
        break;
      case Verdict::kToMain: {
        const auto cls = static_cast<size_t>(r.main_class);
        main[cls][n_main[cls]++] = m;
        break;
      }
      case Verdict::kToException:
        exception[n_exception++] = m;
        break;
      case Verdict::kDrop:
        c.Drop(r.reason);
        rte_pktmbuf_free(m);
        break;
    }
  };
  // The body while there is a packet kSlotAhead further to prefetch for, then the tail.
  uint16_t i = 0;
  for (; i + kSlotAhead < n; ++i) {
    PrefetchSession(view, rx[i + kSlotAhead]);
    handle(rx[i]);
  }
  for (; i < n; ++i) {
    handle(rx[i]);
  }
  for (size_t cls = 0; cls < kNumMainClasses; ++cls) {
    if (n_main[cls] == 0) {
      continue;
    }
    const unsigned queued = rte_ring_enqueue_burst(
        ctx_.to_main.rings[cls], reinterpret_cast<void**>(main[cls]), n_main[cls], nullptr);
    if (queued < n_main[cls]) {
      c.Drop(kMainClasses[cls].overflow, n_main[cls] - queued);
      rte_pktmbuf_free_bulk(main[cls] + queued, n_main[cls] - queued);
    }
    Bump(c.to_main[cls], queued);
  }
  if (n_exception != 0) {
    const unsigned queued = rte_ring_enqueue_burst(
        ctx_.to_exception, reinterpret_cast<void**>(exception), n_exception, nullptr);
    if (queued < n_exception) {
      c.Drop(DropReason::kExceptionRingFull, n_exception - queued);
      rte_pktmbuf_free_bulk(exception + queued, n_exception - queued);
    }
    Bump(c.to_exception, queued);
  }
  if (n_tx != 0) {
    // One port for now: every leg is reached through the port the worker polls.
    const uint16_t sent = rte_eth_tx_burst(ctx_.port_id, ctx_.tx_queue, tx, n_tx);
    if (sent < n_tx) {
      c.Drop(DropReason::kTxFull, n_tx - sent);
      rte_pktmbuf_free_bulk(tx + sent, n_tx - sent);
    }
    Bump(c.tx_packets, sent);
    Bump(c.forwarded_packets, n_fwd4);
    Bump(c.forwarded_bytes, fwd_bytes);
  }
  Bump(c.rx_packets, n);
  return n;
}

}  // namespace dprelay
