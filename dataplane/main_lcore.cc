#include "dataplane/main_lcore.h"

#include <arpa/inet.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "dataplane/packet_headers.h"
#include "drivers/xstats.h"
#include "proto/geneve.h"
#include "proto/log.h"

namespace dprelay {
namespace {

constexpr unsigned kMainBurst = 32;
constexpr uint64_t kHousekeepingNs = 1'000'000'000;
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
      out_{.tx = {.port_id = ctx.local.port_id,
                  .queue = ctx.tx_queue,
                  .handoff = ctx.tx_handoff,
                  .counters = ctx.counters},
           .pool = ctx.pool,
           .exception = ctx.exception,
           .counters = ctx.counters},
      sessions_(table, neighbours, ctx.local),
      responder_(ctx.local, out_, neighbours, &sessions_),
      ipc_(std::move(ipc)) {}

DataplaneCounterValues MainLcore::Counters() {
  PublishIpcCounters();
  return stats_.Counters();
}

void MainLcore::PublishIpcCounters() {
  if (!ipc_) {
    return;
  }
  // The control link's own: backpressure (messages that waited for room, waiting now,
  // overflows that closed the link) and connections refused by SO_PEERCRED.
  LcoreCounters& c = *ctx_.counters;
  c.ipc_queued_messages.store(ipc_->queued_messages(), std::memory_order_relaxed);
  c.ipc_pending_messages.store(ipc_->pending_messages(), std::memory_order_relaxed);
  c.ipc_queue_overflows.store(ipc_->queue_overflows(), std::memory_order_relaxed);
  c.ipc_refused_peers.store(ipc_->refused_peers(), std::memory_order_relaxed);
}

unsigned MainLcore::Poll(uint64_t now_ns) {
  // Each class of work from its own ring, within its budget: a flood of one cannot take the
  // others' turns.
  unsigned n = 0;
  // A backlog of handshakes means the main lcore is not keeping up: box opens are then
  // rationed per leg (open_budget.h), so that no one session's flood takes every turn.
  handshake_pressure_ =
      rte_ring_count(ctx_.from_workers[MainClass::kHandshake]) >= kHandshakePressure;
  for (size_t cls = 0; cls < kNumMainClasses; ++cls) {
    rte_mbuf* pkts[kMainBurst];
    const unsigned got =
        rte_ring_dequeue_burst(ctx_.from_workers.rings[cls], reinterpret_cast<void**>(pkts),
                               std::min(kMainBurst, kMainClasses[cls].poll_budget), nullptr);
    for (unsigned i = 0; i < got; ++i) {
      HandlePacket(pkts[i], now_ns);
    }
    n += got;
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
    responder_.Housekeeping(now_ns);
    PublishIpcCounters();
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
  } else if (auto* advertised = std::get_if<ipc::Advertised>(&msg)) {
    sessions_.set_advertised(std::move(advertised->addrs));
  } else if (auto* dump = std::get_if<ipc::DumpRequest>(&msg)) {
    ipc::DumpReply reply{.request_id = dump->request_id};
    reply.sessions = sessions_.DumpPage(dump->from_vni, ipc::kDumpPageSessions, kDumpPageScan,
                                        &reply.next_vni, now_ns);
    ipc_->Send(reply);
  } else if (std::holds_alternative<ipc::StatsRequest>(msg)) {
    ipc::StatsReply reply{
        .counters = Counters(), .workers = stats_.Workers(), .rings = stats_.Rings()};
    for (auto& [name, value] : ReadXstats(ctx_.local.port_id)) {
      reply.nic.push_back(
          ipc::NicXstat{.port = ctx_.local.port_id, .name = std::move(name), .value = value});
    }
    ipc_->Send(reply);
  } else {
    DPRELAY_LOG_WARNING("ipc: ignoring a message control should not send (type index %zu)",
                        msg.index());
  }
}

void MainLcore::HandlePacket(rte_mbuf* m, uint64_t now_ns) {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
    HandleFrame(m, HandleArpFrame(FrameOf(m), ctx_.local), now_ns, neighbour_limit_,
                ctx_.counters->arp_replies);
    return;
  }
  if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
    // Validated by a worker: ICMPv6 to one of our addresses or groups, or UDP control to the
    // relay port.
    const auto* ip6 = reinterpret_cast<const rte_ipv6_hdr*>(eth + 1);
    if (ip6->proto == IPPROTO_ICMPV6) {
      const FrameVerdict v = HandleIcmp6Frame(FrameOf(m), ctx_.local);
      // A reply is an echo reply or a Neighbour Advertisement (type 136), counted apart.
      const uint8_t reply_type = rte_pktmbuf_mtod(m, const uint8_t*)[kEthHdrLen + kIpv6HdrLen];
      if (reply_type == 136) {
        HandleFrame(m, v, now_ns, neighbour_limit_, ctx_.counters->nd_advertisements);
      } else {
        HandleFrame(m, v, now_ns, echo_limit_, ctx_.counters->icmp_echo_replies);
      }
    } else {
      HandleUdp(m, now_ns);
    }
    return;
  }
  // Workers only hand over IPv4 that they validated: ICMP, or UDP control to the relay port.
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  if (ip->next_proto_id == IPPROTO_ICMP) {
    HandleFrame(m, HandleIcmp4Frame(FrameOf(m), ctx_.local), now_ns, echo_limit_,
                ctx_.counters->icmp_echo_replies);
  } else {
    HandleUdp(m, now_ns);
  }
}

void MainLcore::HandleFrame(rte_mbuf* m, const FrameVerdict& v, uint64_t now_ns,
                            ReplyLimiter& limit, std::atomic<uint64_t>& on_reply) {
  FrameVerdict verdict = v;
  if (v.learn) {
    if (std::optional<DropReason> refused = responder_.Learn(*v.learn, now_ns);
        refused && verdict.action == FrameVerdict::Action::kToKernelOrFree) {
      // Not ours to learn; the kernel may still want it, else it is a counted drop.
      verdict.action = FrameVerdict::Action::kToKernel;
      verdict.drop = *refused;
    }
  }
  if (verdict.action == FrameVerdict::Action::kReply) {
    if (std::optional<DropReason> limited = limit.Allow(verdict.reply_to, 0, now_ns)) {
      verdict.action = FrameVerdict::Action::kDrop;
      verdict.drop = *limited;
    }
  }
  if (out_.Apply(m, verdict)) {
    Bump(on_reply);
  }
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
  HandshakeResult r = sessions_.HandleControl(
      vni, std::span<const uint8_t>(payload + kGeneveHeaderLen, payload_len - kGeneveHeaderLen),
      src, now_ns, handshake_pressure_);
  if (r.kind == HandshakeResult::Kind::kBound) {
    Bump(ctx_.counters->legs_bound);
    if (ipc_) {
      ipc_->Send(ipc::LegBound{.vni = vni, .leg = static_cast<uint8_t>(r.leg), .addr = src});
    }
  }
  if (r.kind != HandshakeResult::Kind::kChallenge) {
    if (r.kind == HandshakeResult::Kind::kDrop) {
      out_.Drop(m, r.drop);
    } else {
      rte_pktmbuf_free(m);
    }
    return;
  }
  // Only now, with the Bind authenticated, is anything charged: junk from a client's address
  // never uses up the Challenges that client needs.
  if (std::optional<DropReason> limited = challenge_limit_.Allow(src.ip, vni, now_ns)) {
    out_.Drop(m, *limited);
    return;
  }
  // The Challenge leaves from the address and port the Bind arrived on, to the Bind's source,
  // through the MAC it came from. It is exactly as long as the Bind, so reuse the mbuf.
  const uint32_t frame_len = static_cast<uint32_t>(header_len + kChallengePacketLen);
  if (rte_pktmbuf_data_len(m) < frame_len) {
    if (rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len - rte_pktmbuf_data_len(m))) ==
        nullptr) {
      out_.Drop(m, DropReason::kNoMbuf);
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
  out_.Transmit(m);
}

}  // namespace dprelay
