// The worker's IPv6 classifier and its forwarding path for every direction that involves an
// IPv6 leg (DESIGN.md §3: relay addresses of both families, v4 <-> v6 forwarding). IPv4 ->
// IPv4 stays on the fast path in worker.cc.
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_seqcount.h>
#include <rte_udp.h>

#include <cstddef>
#include <cstring>

#include "dataplane/counters.h"
#include "dataplane/session_manager.h"
#include "dataplane/worker_inl.h"

namespace dprelay::worker_internal {
namespace {

bool MatchesV6(const LegFwd6& l, const uint8_t* src, uint16_t port_be) {
  return l.port_be == port_be && std::memcmp(l.addr.data(), src, 16) == 0;
}

bool IsNdDestination(const WorkerContext& ctx, const uint8_t* dst) {
  for (const Ip6Bytes& a : ctx.nd_destinations) {
    if (std::memcmp(a.data(), dst, 16) == 0) {
      return true;
    }
  }
  return false;
}

// Neighbour Discovery (router and neighbour solicitations and advertisements, redirects:
// types 133-137) on the neighbour ring, every other ICMPv6 on the ICMP ring. The type byte is
// inside the frame: the caller checked the payload length against it.
MainClass Icmp6Class(const uint8_t* frame, uint32_t ip_payload) {
  const uint8_t type = ip_payload > 0 ? frame[kEthHdrLen + kIpv6HdrLen] : 0;
  return type >= 133 && type <= 137 ? MainClass::kNeighbour : MainClass::kIcmp;
}

}  // namespace

PacketResult ForwardAnyFamily(const WorkerContext& ctx, LegStats* leg_stats, rte_mbuf* m,
                              bool in_v6, uint32_t vni, uint32_t payload_len) noexcept {
  const size_t in_hdr = in_v6 ? kV6HeaderLen : kV4HeaderLen;
  // Everything the rewrite replaces is read first: source and destination addresses, then the
  // UDP ports right after them, as one run of words in either header.
  const uint8_t* in_p = rte_pktmbuf_mtod(m, const uint8_t*);
  const size_t src_at =
      kEthHdrLen + (in_v6 ? offsetof(rte_ipv6_hdr, src_addr) : offsetof(rte_ipv4_hdr, src_addr));
  uint8_t src[16];
  std::memcpy(src, in_p + src_at, in_v6 ? 16 : 4);
  const uint64_t old_complement =
      in_v6 ? ComplementSum(in_p + src_at, 9) : ComplementSum(in_p + src_at, 3);
  const uint32_t src4 = Load32(src);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(in_p + in_hdr - kUdpHdrLen);
  const uint16_t sport_be = udp->src_port;
  const uint16_t udp_len_be = udp->dgram_len;
  const uint16_t udp_csum = udp->dgram_cksum;

  const SessionSlot& slot = ctx.table->slot(vni);
  alignas(16) uint8_t hdr[kV6HeaderLen];
  bool out_v6 = false;
  uint16_t ip_sum = 0;
  uint32_t new_sum = 0;
  int from = -1;
  PacketResult result;
  uint32_t seq;
  do {
    seq = rte_seqcount_read_begin(&slot.seq);
    result = Forward();
    from = -1;
    if (!slot.live) {
      result = Drop(DropReason::kUnknownVni);
    } else if (!slot.leg[0].bound || !slot.leg[1].bound) {
      result = Drop(DropReason::kNotBound);
    } else {
      for (int i = 0; i < 2 && from < 0; ++i) {
        const LegFwd& l = slot.leg[i];
        const bool match =
            in_v6 ? l.bound == kLegV6 && MatchesV6(ctx.table->leg6(vni, i), src, sport_be)
                  : l.bound == kLegV4 && l.addr_be == src4 && l.port_be == sport_be;
        from = match ? i : -1;
      }
      if (from < 0) {
        result = Drop(DropReason::kUnknownSource);
      } else {
        const LegFwd& to = slot.leg[1 - from];
        if (to.next_hop != NextHopState::kResolved) {
          result = Drop(to.next_hop == NextHopState::kNoRoute ? DropReason::kNoRoute
                                                              : DropReason::kNoNeighbour);
        } else if (to.bound == kLegV6) {
          const LegFwd6& t6 = ctx.table->leg6(vni, 1 - from);
          std::memcpy(hdr, t6.hdr, kV6HeaderLen);
          new_sum = t6.l4_sum;
          out_v6 = true;
        } else {
          std::memcpy(hdr, to.hdr, kV4HeaderLen);
          new_sum = to.l4_sum;
          ip_sum = to.ip_sum;
          out_v6 = false;
        }
      }
    }
  } while (rte_seqcount_read_retry(&slot.seq, seq));
  if (result.verdict != Verdict::kForward) {
    return result;
  }

  // The output is exactly the UDP datagram behind the new headers: Ethernet padding of short
  // frames (and anything the IP length carried past the UDP length) is dropped.
  const uint16_t udp_len = rte_be_to_cpu_16(udp_len_be);
  const uint32_t frame_len = static_cast<uint32_t>(in_hdr - kUdpHdrLen) + udp_len;
  if (rte_pktmbuf_data_len(m) > frame_len) {
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - frame_len));
  }
  const size_t out_hdr = out_v6 ? kV6HeaderLen : kV4HeaderLen;
  if (out_hdr > in_hdr) {
    // The IPv6 packet is 20 bytes longer than the IPv4 one that fit: it may not fit the link.
    if (kIpv6HdrLen + kUdpHdrLen + payload_len > ctx.mtu) {
      return Drop(DropReason::kTooBigForMtu);
    }
    if (rte_pktmbuf_prepend(m, kFamilyHeaderDelta) == nullptr) {
      return Drop(DropReason::kNoHeadroom);
    }
  } else if (out_hdr < in_hdr) {
    rte_pktmbuf_adj(m, kFamilyHeaderDelta);
  }
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memcpy(p, hdr, out_hdr);
  auto* out_udp = reinterpret_cast<rte_udp_hdr*>(p + out_hdr - kUdpHdrLen);
  out_udp->dgram_len = udp_len_be;
  const bool no_v4_checksum = !in_v6 && udp_csum == 0;
  if (out_v6) {
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(p + kEthHdrLen);
    ip6->payload_len = udp_len_be;
    if (no_v4_checksum) {
      // IPv6 requires a checksum the IPv4 sender did not give: the only full computation on
      // the forwarding path (kernel and Go clients always send one).
      out_udp->dgram_cksum = 0;
      out_udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, out_udp);
    } else {
      out_udp->dgram_cksum = IncrementalUdpChecksum(udp_csum, old_complement, new_sum);
    }
  } else {
    auto* ip4 = reinterpret_cast<rte_ipv4_hdr*>(p + kEthHdrLen);
    ip4->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4HdrLen + udp_len));
    ip4->hdr_checksum = static_cast<uint16_t>(~CsumFold(ip_sum + ip4->total_length));
    out_udp->dgram_cksum =
        no_v4_checksum ? 0 : IncrementalUdpChecksum(udp_csum, old_complement, new_sum);
  }

  LegStats& st = leg_stats[size_t{vni} * 2 + from];
  Bump(st.packets);
  Bump(st.bytes, payload_len);
  if (!in_v6 && !out_v6) {
    return result;  // IPv4 -> IPv4 (an unusual frame, or a raced read): the burst loop counts it
  }
  const FamilyPath path = !in_v6   ? FamilyPath::kV4ToV6
                          : out_v6 ? FamilyPath::kV6ToV6
                                   : FamilyPath::kV6ToV4;
  Bump(ctx.counters->family_packets[static_cast<size_t>(path)]);
  Bump(ctx.counters->family_bytes[static_cast<size_t>(path)], payload_len);
  return {Verdict::kForwardCounted, DropReason::kNotDropped};
}

PacketResult ClassifyIpv6(const WorkerContext& ctx, LegStats* leg_stats, rte_mbuf* m) noexcept {
  if (!ctx.ipv6) {
    return Drop(DropReason::kUnsupportedEthertype);
  }
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kEthHdrLen + kIpv6HdrLen) {
    return Drop(DropReason::kIpRunt);
  }
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p + kEthHdrLen);
  if ((p[kEthHdrLen] >> 4) != 6) {
    return Drop(DropReason::kIpBadVersion);
  }
  const uint32_t ip_payload = rte_be_to_cpu_16(ip->payload_len);
  if (ip_payload == 0 || kEthHdrLen + kIpv6HdrLen + ip_payload > len) {
    return Drop(DropReason::kIpBadTotalLength);  // 0 would be a jumbogram: not on Ethernet
  }
  if (std::memcmp(ip->dst_addr, ctx.local_ip6.data(), 16) != 0) {
    // Neighbour Discovery (and ICMPv6 to our link-local address) is ours too.
    if (ip->proto == IPPROTO_ICMPV6 && IsNdDestination(ctx, ip->dst_addr)) {
      return ToMain(Icmp6Class(p, ip_payload));
    }
    return Drop(DropReason::kNotLocal);
  }
  switch (ip->proto) {
    case IPPROTO_UDP:
      break;
    case IPPROTO_ICMPV6:
      return ToMain(Icmp6Class(p, ip_payload));
    case IPPROTO_FRAGMENT:
      return Drop(DropReason::kIpFragment);
    case IPPROTO_HOPOPTS:
    case IPPROTO_ROUTING:
    case IPPROTO_DSTOPTS:
      return Drop(DropReason::kIpv6ExtensionHeader);
    default:
      return NotRelay(ctx, DropReason::kUnsupportedL4);
  }
  if (ip_payload < kUdpHdrLen) {
    return Drop(DropReason::kUdpRunt);
  }
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  const uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  if (udp_len < kUdpHdrLen || udp_len > ip_payload) {
    return Drop(DropReason::kUdpBadLength);
  }
  if (udp->dgram_cksum == 0) {
    return Drop(DropReason::kUdp6ZeroChecksum);
  }
  if (udp->dst_port != ctx.relay_port_be) {
    return NotRelay(ctx, DropReason::kNotRelayPort);
  }
  uint32_t vni = 0;
  const uint32_t payload_len = udp_len - kUdpHdrLen;
  const PacketResult r =
      ClassifyRelayPayload(ctx, reinterpret_cast<const uint8_t*>(udp + 1), payload_len, &vni);
  if (r.verdict != Verdict::kForward) {
    return r;
  }
  return ForwardAnyFamily(ctx, leg_stats, m, true, vni, payload_len);
}

}  // namespace dprelay::worker_internal

namespace dprelay {

void SetWorkerIpv6(const LocalIdentity& local, WorkerContext* ctx) {
  ctx->ipv6 = local.ipv6;
  if (!local.ipv6) {
    return;
  }
  ctx->local_ip6 = local.ip6;
  ctx->nd_destinations = {local.ll6, SolicitedNodeMulticast(local.ip6),
                          SolicitedNodeMulticast(local.ll6), kIpv6AllNodes};
}

}  // namespace dprelay
