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

#include "dataplane/packet_headers.h"
#include "proto/geneve.h"

namespace dprelay {
namespace {

constexpr uint16_t kEtherTypeIpv4 = RTE_BE16(RTE_ETHER_TYPE_IPV4);
constexpr uint16_t kEtherTypeArp = RTE_BE16(RTE_ETHER_TYPE_ARP);
constexpr uint16_t kFragMask = RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);

enum class Verdict : uint8_t { kForward, kToMain, kToException, kDrop };

struct PacketResult {
  Verdict verdict;
  DropReason reason;  // when kDrop
};

inline PacketResult Drop(DropReason r) { return {Verdict::kDrop, r}; }

// Traffic for our address that the relay does not serve: the kernel's, if there is an exception
// interface, else a counted drop.
inline PacketResult NotRelay(const WorkerContext& ctx, DropReason r) {
  return ctx.to_exception != nullptr ? PacketResult{Verdict::kToException, r} : Drop(r);
}

// 42 bytes as 16 + 16 + 8 + 2 fixed-size moves: the compiler emits four unaligned vector and
// scalar moves instead of a byte loop.
__attribute__((always_inline)) inline void CopyTemplate(uint8_t* dst, const uint8_t* src) {
  static_assert(kV4HeaderLen == 16 + 16 + 8 + 2);
  std::memcpy(dst, src, 16);
  std::memcpy(dst + 16, src + 16, 16);
  std::memcpy(dst + 32, src + 32, 8);
  std::memcpy(dst + 40, src + 40, 2);
}

// Rewrites Ethernet/IPv4/UDP for `to`, fixing the IPv4 header checksum from the template's
// precomputed sum and the UDP checksum incrementally (RFC 1624): the replaced words enter as
// their complement, the template's as its precomputed sum, all in 32-bit words on a 64-bit
// accumulator (ones'-complement sums of 32-bit words fold to the same 16-bit sum).
__attribute__((always_inline)) inline void RewriteHeaders(uint8_t* p, const LegFwd& to,
                                                          uint16_t tot_len, uint16_t udp_len,
                                                          uint64_t old_l4_complement,
                                                          uint16_t udp_csum) {
  CopyTemplate(p, to.hdr);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + kEthHdrLen);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p + kEthHdrLen + kIpv4HdrLen);
  ip->total_length = tot_len;
  ip->hdr_checksum = static_cast<uint16_t>(~CsumFold(to.ip_sum + tot_len));
  udp->dgram_len = udp_len;
  if (udp_csum == 0) {
    udp->dgram_cksum = 0;  // IPv4 sender sent no checksum: keep it that way
    return;
  }
  uint64_t sum = static_cast<uint16_t>(~udp_csum) + old_l4_complement + to.l4_sum;
  sum = (sum & 0xffffffff) + (sum >> 32);
  uint16_t csum = static_cast<uint16_t>(~CsumFold(static_cast<uint32_t>(sum) + (sum >> 32 != 0)));
  udp->dgram_cksum = csum == 0 ? 0xffff : csum;
}

// Forwards one data packet whose Ethernet, IPv4 (no options) and UDP headers were validated:
// match the source against the bound legs, rewrite the outer headers for the other leg.
__attribute__((always_inline)) inline PacketResult ForwardData(const WorkerContext& ctx,
                                                               LegStats* leg_stats, rte_mbuf* m,
                                                               uint8_t* p, uint32_t len,
                                                               uint32_t vni, uint32_t payload_len,
                                                               uint64_t now_tsc) noexcept {
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + kEthHdrLen);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(p + kEthHdrLen + kIpv4HdrLen);
  const SessionSlot& slot = ctx.table->slot(vni);
  // Everything the rewrite replaces is saved first, because the speculative copy below
  // may run more than once if the main lcore rewrites the slot meanwhile.
  const uint32_t src_be = ip->src_addr;
  const uint16_t sport_be = udp->src_port;
  uint32_t ports;
  std::memcpy(&ports, &udp->src_port, sizeof(ports));
  const uint64_t old_l4_complement =
      uint64_t{~src_be} + uint64_t{static_cast<uint32_t>(~ip->dst_addr)} + uint64_t{~ports};
  const uint16_t tot_len_be = ip->total_length;
  const uint16_t udp_len_be = udp->dgram_len;
  const uint16_t udp_csum = udp->dgram_cksum;
  PacketResult result;
  int from = 0;
  uint32_t seq;
  do {
    seq = rte_seqcount_read_begin(&slot.seq);
    const LegFwd& l0 = slot.leg[0];
    const LegFwd& l1 = slot.leg[1];
    if (!slot.live) {
      result = Drop(DropReason::kUnknownVni);
    } else if (!l0.bound || !l1.bound) {
      result = Drop(DropReason::kNotBound);
    } else {
      from = (l0.addr_be == src_be && l0.port_be == sport_be)   ? 0
             : (l1.addr_be == src_be && l1.port_be == sport_be) ? 1
                                                                : -1;
      if (from < 0) {
        result = Drop(DropReason::kUnknownSource);
      } else if (slot.leg[1 - from].next_hop != NextHopState::kResolved) {
        result =
            Drop(slot.leg[1 - from].next_hop == NextHopState::kNoRoute ? DropReason::kNoRoute
                                                                       : DropReason::kNoNeighbour);
      } else {
        const LegFwd& to = slot.leg[1 - from];
        RewriteHeaders(p, to, tot_len_be, udp_len_be, old_l4_complement, udp_csum);
        result = {Verdict::kForward, DropReason::kEthRunt};
      }
    }
  } while (rte_seqcount_read_retry(&slot.seq, seq));

  if (result.verdict == Verdict::kForward) {
    // Drop Ethernet padding of short frames: the output is exactly the IP packet.
    const uint32_t frame_len = kEthHdrLen + rte_be_to_cpu_16(tot_len_be);
    if (len > frame_len) {
      rte_pktmbuf_trim(m, static_cast<uint16_t>(len - frame_len));
    }
    LegStats& st = leg_stats[size_t{vni} * 2 + from];
    Bump(st.packets);
    Bump(st.bytes, payload_len);
    st.last_seen_tsc.store(now_tsc, std::memory_order_relaxed);
  }
  return result;
}

// The complete classifier: every check in order, each failure with its own drop reason. The
// fast path below sends here whatever it does not recognise at a glance.
__attribute__((noinline)) PacketResult ClassifySlow(const WorkerContext& ctx, LegStats* leg_stats,
                                                    rte_mbuf* m, uint64_t now_tsc) noexcept {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kEthHdrLen) {
    return Drop(DropReason::kEthRunt);
  }
  const uint16_t ether_type = reinterpret_cast<const rte_ether_hdr*>(p)->ether_type;
  if (ether_type == kEtherTypeArp) {
    return {Verdict::kToMain, DropReason::kEthRunt};
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
  if (ip->next_proto_id == IPPROTO_ICMP) {
    return {Verdict::kToMain, DropReason::kEthRunt};
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
  const uint8_t* payload = reinterpret_cast<const uint8_t*>(udp + 1);
  const uint32_t payload_len = udp_len - kUdpHdrLen;
  if (LooksLikeStun(std::span<const uint8_t>(payload, payload_len))) {
    return Drop(DropReason::kStun);
  }
  if (payload_len < kGeneveHeaderLen) {
    return Drop(DropReason::kGeneveRunt);
  }
  const uint32_t vni = GeneveVni(payload);
  if (vni == 0 || vni > ctx.table->capacity()) {
    return Drop(DropReason::kUnknownVni);
  }
  if (GeneveIsControl(payload)) {
    const SessionSlot& slot = ctx.table->slot(vni);
    if (GeneveProtocol(payload) != kGeneveProtocolDisco) {
      return Drop(DropReason::kControlNotDisco);
    }
    // A racy read is fine here: the main lcore re-checks the session under its own state.
    if (__atomic_load_n(&slot.live, __ATOMIC_RELAXED) == 0) {
      return Drop(DropReason::kUnknownVni);
    }
    return {Verdict::kToMain, DropReason::kEthRunt};
  }
  return ForwardData(ctx, leg_stats, m, p, len, vni, payload_len, now_tsc);
}

// The fast path: one look at the fields that make a well-formed relay data packet (IPv4 without
// options or fragmentation, UDP to our address and port, a Geneve header with no flag set, a VNI
// in the table), with a few wide loads and masked compares. Anything else goes to ClassifySlow,
// which finds the exact reason.
static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "the fast-path masks assume little endian");
// Bytes 12..15: ethertype 08 00, version/IHL 45, TOS (ignored).
constexpr uint32_t kEthIpv4Ihl5Mask = 0x00ffffff;
constexpr uint32_t kEthIpv4Ihl5 = 0x00450008;
// Bytes 20..23: flags/fragment offset (DF ignored), TTL (ignored), protocol 17.
constexpr uint32_t kUdpUnfragmentedMask = 0xff00ff3f;
constexpr uint32_t kUdpUnfragmented = 0x11000000;

__attribute__((always_inline)) inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
__attribute__((always_inline)) inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

__attribute__((always_inline)) inline PacketResult ProcessPacket(const WorkerContext& ctx,
                                                                 LegStats* leg_stats, rte_mbuf* m,
                                                                 uint64_t now_tsc) noexcept {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (likely(len >= kV4HeaderLen + kGeneveHeaderLen)) {
    const uint32_t tot_len = rte_be_to_cpu_16(Load16(p + kEthHdrLen + 2));
    const uint32_t udp_len = rte_be_to_cpu_16(Load16(p + kEthHdrLen + kIpv4HdrLen + 4));
    const uint8_t* geneve = p + kV4HeaderLen;
    const uint32_t vni = GeneveVni(geneve);
    if (likely((Load32(p + 12) & kEthIpv4Ihl5Mask) == kEthIpv4Ihl5 &&
               (Load32(p + 20) & kUdpUnfragmentedMask) == kUdpUnfragmented &&
               Load32(p + kEthHdrLen + 16) == ctx.local_ip_be &&
               Load16(p + kEthHdrLen + kIpv4HdrLen + 2) == ctx.relay_port_be &&
               udp_len + kIpv4HdrLen == tot_len && kEthHdrLen + tot_len <= len &&
               udp_len >= kUdpHdrLen + kGeneveHeaderLen &&
               geneve[1] == 0 &&  // data, not control; and never STUN (b[1] == 0x01)
               vni - 1 < ctx.table->capacity())) {
      return ForwardData(ctx, leg_stats, m, p, len, vni, udp_len - kUdpHdrLen, now_tsc);
    }
  }
  return ClassifySlow(ctx, leg_stats, m, now_tsc);
}

}  // namespace

Worker::Worker(const WorkerContext& ctx)
    : ctx_(ctx), leg_stats_(ctx.table->stats_block(ctx.lcore_index)) {}

__attribute__((always_inline)) inline void Worker::PrefetchSession(
    const rte_mbuf* m) const noexcept {
  // Peeks at where the VNI sits in an IPv4 packet without options. For any other packet the
  // bytes are something else (always inside the mbuf's data room, which is far larger than 50
  // bytes): the clamp keeps the address inside the table, and a useless prefetch is harmless.
  const uint32_t vni = std::min(GeneveVni(rte_pktmbuf_mtod(m, const uint8_t*) + kV4HeaderLen),
                                ctx_.table->capacity());
  const auto* slot = reinterpret_cast<const char*>(&ctx_.table->slot(vni));
  rte_prefetch0(slot);
  rte_prefetch0(slot + 64);
  rte_prefetch0(&leg_stats_[size_t{vni} * 2]);
}

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
  const uint16_t n = Poll(start);
  const uint64_t end = rte_rdtsc();
  cycles_ += end - last_tsc_;  // includes any idle sleep since the previous call
  if (n != 0) {
    busy_cycles_ += end - start;
  }
  last_tsc_ = end;
  if (++loops_ == kCycleFlush) {
    Bump(ctx_.counters->worker_cycles, cycles_);
    Bump(ctx_.counters->worker_busy_cycles, busy_cycles_);
    loops_ = 0;
    cycles_ = busy_cycles_ = 0;
  }
  return n;
}

uint16_t Worker::Poll(uint64_t now_tsc) noexcept {
  if (ctx_.tx_from_main != nullptr) {
    DrainMainTx();
  }
  rte_mbuf* rx[kBurstSize];
  const uint16_t n = rte_eth_rx_burst(ctx_.port_id, ctx_.rx_queue, rx, kBurstSize);
  if (n == 0) {
    return 0;
  }
  rte_mbuf* tx[kBurstSize];
  rte_mbuf* main[kBurstSize];
  rte_mbuf* exception[kBurstSize];
  uint16_t n_tx = 0, n_main = 0, n_exception = 0;
  uint64_t fwd_bytes = 0;
  LcoreCounters& c = *ctx_.counters;
  // Two prefetch stages hide the two dependent misses of a packet: its data (written by the
  // NIC or another core) for the whole burst first, then, a few packets ahead, the session slot
  // and leg counters its VNI selects (random over the table when sessions are many).
  for (uint16_t i = 0; i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
  }
  constexpr uint16_t kSlotAhead = 8;
  for (uint16_t i = 0; i < n && i < kSlotAhead; ++i) {
    PrefetchSession(rx[i]);
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) {
      PrefetchSession(rx[i + kSlotAhead]);
    }
    const PacketResult r = ProcessPacket(ctx_, leg_stats_, rx[i], now_tsc);
    switch (r.verdict) {
      case Verdict::kForward:
        fwd_bytes += rte_pktmbuf_data_len(rx[i]) - kV4HeaderLen;
        tx[n_tx++] = rx[i];
        break;
      case Verdict::kToMain:
        main[n_main++] = rx[i];
        break;
      case Verdict::kToException:
        exception[n_exception++] = rx[i];
        break;
      case Verdict::kDrop:
        c.Drop(r.reason);
        rte_pktmbuf_free(rx[i]);
        break;
    }
  }
  if (n_main != 0) {
    const unsigned queued =
        rte_ring_enqueue_burst(ctx_.to_main, reinterpret_cast<void**>(main), n_main, nullptr);
    if (queued < n_main) {
      c.Drop(DropReason::kMainRingFull, n_main - queued);
      rte_pktmbuf_free_bulk(main + queued, n_main - queued);
    }
    Bump(c.to_main, queued);
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
    Bump(c.forwarded_packets, n_tx);
    Bump(c.forwarded_bytes, fwd_bytes);
  }
  Bump(c.rx_packets, n);
  return n;
}

}  // namespace dprelay
