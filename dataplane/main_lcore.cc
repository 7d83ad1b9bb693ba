#include "dataplane/main_lcore.h"

#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "dataplane/packet_headers.h"
#include "drivers/xstats.h"
#include "proto/geneve.h"
#include "proto/log.h"

namespace dprelay {
namespace {

constexpr unsigned kMainBurst = 32;
constexpr uint64_t kHousekeepingNs = 1'000'000'000;
constexpr uint64_t kMldReportIntervalNs = 60 * kHousekeepingNs;
// VNIs one dump page looks at, at most: a sparse 16M-entry table is dumped in many short
// steps (each a few hundred microseconds) instead of one long stall of the main lcore.
constexpr uint32_t kDumpPageScan = 65536;

AddrPort V4AddrPort(uint32_t ip_be, uint16_t port_be) {
  return AddrPort{IpAddr::V4FromBe(ip_be), ntohs(port_be)};
}

// Where clients send Binds and data: the IPv4 address, and the IPv6 one when configured.
std::vector<AddrPort> RelayAddrs(const LocalIdentity& local) {
  std::vector<AddrPort> addrs = {V4AddrPort(local.ip_be, local.port_be)};
  if (local.ipv6) {
    addrs.push_back(AddrPort{IpAddr::V6(local.ip6.data()), ntohs(local.port_be)});
  }
  return addrs;
}

}  // namespace

MainLcore::MainLcore(const MainLcoreContext& ctx, SessionTable* table, Neighbours* neighbours,
                     std::unique_ptr<IpcServer> ipc)
    : ctx_(ctx),
      tx_{.port_id = ctx.local.port_id,
          .queue = ctx.tx_queue,
          .handoff = ctx.tx_handoff,
          .counters = ctx.counters},
      neighbours_(neighbours),
      sessions_(table, neighbours, ctx.local),
      ipc_(std::move(ipc)) {}

std::vector<std::pair<std::string, uint64_t>> MainLcore::Counters() const {
  return SumCounters(all_counters_, n_counter_blocks_);
}

unsigned MainLcore::Poll(uint64_t now_ns) {
  rte_mbuf* pkts[kMainBurst];
  unsigned n = rte_ring_dequeue_burst(ctx_.from_workers, reinterpret_cast<void**>(pkts), kMainBurst,
                                      nullptr);
  for (unsigned i = 0; i < n; ++i) {
    HandlePacket(pkts[i], now_ns);
  }
  if (ipc_) {
    ipc_->Poll(
        [&] {
          ipc_->Send(ipc::Hello{.relay_addrs = RelayAddrs(ctx_.local), .capacity = ctx_.capacity});
        },
        [&](ipc::Message&& msg) { HandleIpc(std::move(msg), now_ns); });
  }
  if (now_ns >= next_housekeeping_ns_) {
    next_housekeeping_ns_ = now_ns + kHousekeepingNs;
    for (uint32_t vni : sessions_.Expire(now_ns)) {
      DPRELAY_LOG_INFO("session vni=%u expired", vni);
      if (ipc_) {
        ipc_->Send(ipc::SessionExpired{.vni = vni});
      }
    }
    for (const IpAddr& gone : neighbours_->Expire(now_ns)) {
      changed_hops_.insert(gone);
    }
    // Changes beyond the immediate budget, and expiries: one scan for all of them.
    sessions_.OnNeighboursChanged(changed_hops_);
    changed_hops_.clear();
    immediate_republishes_ = kImmediateRepublishes;
    for (const IpAddr& hop : sessions_.NextHopsInUse()) {
      if (neighbours_->ShouldRequest(hop, now_ns)) {
        ResolveNextHop(hop);
      }
    }
    if (ctx_.local.ipv6 && now_ns >= next_mld_report_ns_) {
      // At start, then well within a snooping switch's listener timeout (260 s by default,
      // RFC 3810 9.4); nobody's queries need answering for that.
      next_mld_report_ns_ = now_ns + kMldReportIntervalNs;
      SendMldReport();
    }
  }
  return n;
}

void MainLcore::HandleIpc(ipc::Message&& msg, uint64_t now_ns) {
  if (auto* install = std::get_if<ipc::InstallSession>(&msg)) {
    absl::Status st = sessions_.Install(*install, now_ns);
    if (st.ok()) {
      DPRELAY_LOG_INFO("session vni=%u installed (%s, %s)", install->vni,
                       ShortDisco(install->client_keys[0]), ShortDisco(install->client_keys[1]));
    } else {
      DPRELAY_LOG_WARNING("session vni=%u not installed: %s", install->vni, st.ToString());
    }
    ipc_->Send(
        ipc::InstallResult{.vni = install->vni, .ok = st.ok(), .error = std::string(st.message())});
  } else if (auto* remove = std::get_if<ipc::RemoveSession>(&msg)) {
    sessions_.Remove(remove->vni);
  } else if (auto* dump = std::get_if<ipc::DumpRequest>(&msg)) {
    ipc::DumpReply reply{.request_id = dump->request_id};
    reply.sessions = sessions_.DumpPage(dump->from_vni, ipc::kDumpPageSessions, kDumpPageScan,
                                        &reply.next_vni, now_ns);
    ipc_->Send(reply);
  } else if (std::holds_alternative<ipc::StatsRequest>(msg)) {
    ipc::StatsReply reply{.counters = Counters()};
    for (auto& xstat : ReadXstats(ctx_.local.port_id)) {
      reply.counters.push_back(std::move(xstat));
    }
    ipc_->Send(reply);
  } else {
    DPRELAY_LOG_WARNING("ipc: ignoring a message control should not send (type index %zu)",
                        msg.index());
  }
}

void MainLcore::ResolveNextHop(const IpAddr& hop) {
  if (hop.is_v4()) {
    SendArpRequest(hop.v4_be());
  } else {
    SendNeighbourSolicitation(hop.bytes);
  }
}

void MainLcore::LearnNeighbour(const IpAddr& ip, const MacAddr& mac, uint64_t now_ns,
                               bool override) {
  if (!neighbours_->OnLink(ip)) {
    return;
  }
  // Only a next hop some leg uses has legs to republish: learning any other address (from
  // whatever host on the link sends us ARP or ND) costs a table entry, not a scan.
  const bool in_use = sessions_.IsNextHop(ip);
  if (!neighbours_->Learn(ip, mac, now_ns, override, in_use) || !in_use) {
    return;
  }
  // Republishing scans the sessions: a few at once (a client that just resolved should not
  // wait), the rest batched into the next housekeeping, so that changes to many next hops at
  // once (or a host on the link that keeps sending them) cost a few scans a second, not one
  // each.
  if (immediate_republishes_ > 0) {
    --immediate_republishes_;
    sessions_.OnNeighboursChanged({ip});
  } else {
    changed_hops_.insert(ip);
  }
}

void MainLcore::HandlePacket(rte_mbuf* m, uint64_t now_ns) {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
    HandleArp(m, now_ns);
    return;
  }
  if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
    // Validated by a worker: ICMPv6 to one of our addresses or groups, or UDP control to the
    // relay port.
    const auto* ip6 = reinterpret_cast<const rte_ipv6_hdr*>(eth + 1);
    if (ip6->proto == IPPROTO_ICMPV6) {
      HandleIcmp6(m, now_ns);
    } else {
      HandleUdp(m, now_ns);
    }
    return;
  }
  // Workers only hand over IPv4 that they validated: ICMP, or UDP control to the relay port.
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  if (ip->next_proto_id == IPPROTO_ICMP) {
    HandleIcmp(m);
  } else {
    HandleUdp(m, now_ns);
  }
}

void MainLcore::HandleArp(rte_mbuf* m, uint64_t now_ns) {
  if (rte_pktmbuf_data_len(m) < kEthHdrLen + sizeof(rte_arp_hdr)) {
    Drop(m, DropReason::kEthRunt);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
      arp->arp_plen != 4) {
    Drop(m, DropReason::kArpNotForUs);
    return;
  }
  const uint32_t sender_ip = arp->arp_data.arp_sip;
  const uint32_t target_ip = arp->arp_data.arp_tip;
  const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
  if (target_ip != ctx_.local.ip_be) {
    Drop(m, DropReason::kArpNotForUs);
    return;
  }
  // Learn the sender from requests and replies addressed to us (as Linux does).
  if (sender_ip != 0) {
    MacAddr mac;
    std::memcpy(mac.data(), arp->arp_data.arp_sha.addr_bytes, 6);
    LearnNeighbour(IpAddr::V4FromBe(sender_ip), mac, now_ns);
  }
  if (op != RTE_ARP_OP_REQUEST) {
    if (ctx_.exception != nullptr) {
      ctx_.exception->ToKernel(m);  // it may be the answer to the kernel's own request
    } else {
      rte_pktmbuf_free(m);
    }
    return;
  }
  // Turn the request into our reply in place.
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = sender_ip;
  std::memcpy(arp->arp_data.arp_sha.addr_bytes, ctx_.local.mac.data(), 6);
  arp->arp_data.arp_sip = ctx_.local.ip_be;
  eth->dst_addr = eth->src_addr;
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  Bump(ctx_.counters->arp_replies);
  Transmit(m);
}

void MainLcore::SendArpRequest(uint32_t target_be) {
  rte_mbuf* m = NewFrame(kEthHdrLen + sizeof(rte_arp_hdr));
  if (m == nullptr) {
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  memset(eth->dst_addr.addr_bytes, 0xff, 6);
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
  std::memcpy(arp->arp_data.arp_sha.addr_bytes, ctx_.local.mac.data(), 6);
  arp->arp_data.arp_sip = ctx_.local.ip_be;
  memset(arp->arp_data.arp_tha.addr_bytes, 0, 6);
  arp->arp_data.arp_tip = target_be;
  Bump(ctx_.counters->arp_requests);
  Transmit(m);
}

void MainLcore::HandleIcmp(rte_mbuf* m) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len < kIpv4HdrLen + sizeof(rte_icmp_hdr)) {
    Drop(m, DropReason::kIpBadTotalLength);
    return;
  }
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
  switch (icmp->icmp_type) {
    case RTE_IP_ICMP_ECHO_REQUEST:
      break;
    case RTE_IP_ICMP_ECHO_REPLY:
    case 3:   // destination unreachable (fragmentation needed among them)
    case 11:  // time exceeded
    case 12:  // parameter problem
      IcmpForKernel(m);
      return;
    default:
      Drop(m, DropReason::kIcmpNotEcho);
      return;
  }
  if (icmp->icmp_code != 0) {
    Drop(m, DropReason::kIcmpNotEcho);
    return;
  }
  // Echo reply in place: swap addresses, type 0, checksums recomputed.
  rte_ether_addr tmp = eth->src_addr;
  eth->dst_addr = tmp;
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  ip->dst_addr = ip->src_addr;
  ip->src_addr = ctx_.local.ip_be;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
  icmp->icmp_cksum = 0;
  icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, ip_len - kIpv4HdrLen));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - kEthHdrLen - ip_len));
  Bump(ctx_.counters->icmp_echo_replies);
  Transmit(m);
}

void MainLcore::HandleUdp(rte_mbuf* m, uint64_t now_ns) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const bool v6 = eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6);
  auto* ip4 = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  const size_t header_len = v6 ? kV6HeaderLen : kV4HeaderLen;
  auto* udp =
      reinterpret_cast<rte_udp_hdr*>(reinterpret_cast<uint8_t*>(eth) + header_len - kUdpHdrLen);
  uint8_t* payload = reinterpret_cast<uint8_t*>(udp + 1);
  const size_t payload_len = rte_be_to_cpu_16(udp->dgram_len) - kUdpHdrLen;
  const uint32_t vni = GeneveVni(payload);
  const AddrPort src = v6 ? AddrPort{IpAddr::V6(ip6->src_addr), ntohs(udp->src_port)}
                          : V4AddrPort(ip4->src_addr, udp->src_port);
  if (!limiter_.Allow(src.ip, now_ns)) {
    Drop(m, DropReason::kHandshakeRateLimited);
    return;
  }
  HandshakeResult r = sessions_.HandleControl(
      vni, std::span<const uint8_t>(payload + kGeneveHeaderLen, payload_len - kGeneveHeaderLen),
      src, now_ns);
  if (r.kind == HandshakeResult::Kind::kBound) {
    Bump(ctx_.counters->legs_bound);
    if (ipc_) {
      ipc_->Send(ipc::LegBound{.vni = vni, .leg = static_cast<uint8_t>(r.leg), .addr = src});
    }
  }
  if (r.kind != HandshakeResult::Kind::kChallenge) {
    if (r.kind == HandshakeResult::Kind::kDrop) {
      Drop(m, r.drop);
    } else {
      rte_pktmbuf_free(m);
    }
    return;
  }
  // The Challenge leaves from the address and port the Bind arrived on, to the Bind's source,
  // through the MAC it came from. It is exactly as long as the Bind, so reuse the mbuf.
  const uint32_t frame_len = static_cast<uint32_t>(header_len + kChallengePacketLen);
  if (rte_pktmbuf_data_len(m) < frame_len) {
    if (rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len - rte_pktmbuf_data_len(m))) ==
        nullptr) {
      Drop(m, DropReason::kNoMbuf);
      return;
    }
  } else {
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - frame_len));
  }
  rte_ether_addr peer_mac = eth->src_addr;
  eth->dst_addr = peer_mac;
  std::memcpy(eth->src_addr.addr_bytes, ctx_.local.mac.data(), 6);
  const uint16_t local_port = udp->dst_port;
  udp->dst_port = udp->src_port;
  udp->src_port = local_port;
  udp->dgram_len = rte_cpu_to_be_16(kUdpHdrLen + kChallengePacketLen);
  std::memcpy(payload, r.reply.data(), kChallengePacketLen);
  udp->dgram_cksum = 0;
  if (v6) {
    uint8_t local_ip[16];
    std::memcpy(local_ip, ip6->dst_addr, 16);
    std::memcpy(ip6->dst_addr, ip6->src_addr, 16);
    std::memcpy(ip6->src_addr, local_ip, 16);
    ip6->vtc_flow = RTE_BE32(6u << 28);
    ip6->payload_len = udp->dgram_len;
    ip6->hop_limits = 64;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, udp);
  } else {
    const uint32_t local_ip = ip4->dst_addr;
    ip4->dst_addr = ip4->src_addr;
    ip4->src_addr = local_ip;
    ip4->total_length = rte_cpu_to_be_16(kIpv4HdrLen + kUdpHdrLen + kChallengePacketLen);
    ip4->time_to_live = 64;
    ip4->packet_id = 0;
    ip4->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip4->hdr_checksum = 0;
    ip4->hdr_checksum = rte_ipv4_cksum(ip4);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip4, udp);
  }
  Bump(ctx_.counters->challenges_sent);
  Transmit(m);
}

void MainLcore::Transmit(rte_mbuf* m) { tx_.Send(&m, 1); }

void MainLcore::IcmpForKernel(rte_mbuf* m) {
  if (ctx_.exception != nullptr) {
    ctx_.exception->ToKernel(m);
  } else {
    Drop(m, DropReason::kIcmpNotEcho);
  }
}

rte_mbuf* MainLcore::NewFrame(uint16_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool);
  if (m != nullptr && rte_pktmbuf_append(m, len) == nullptr) {
    rte_pktmbuf_free(m);
    m = nullptr;
  }
  if (m == nullptr) {
    ctx_.counters->Drop(DropReason::kNoMbuf);
  }
  return m;
}

void MainLcore::Drop(rte_mbuf* m, DropReason r) {
  ctx_.counters->Drop(r);
  rte_pktmbuf_free(m);
}

}  // namespace dprelay
