// The worker's per-packet path (dataplane/worker.cc, worker_v6.cc, fast_match*.h): any frame
// through the IPv4 fast-path match, the complete IPv4 and IPv6 classifiers and the forwarding
// rewrite of every family direction, on a session table with one session of each kind. No EAL:
// the mbuf is a plain struct over an exactly-sized heap buffer (headroom, then the frame), and
// nothing on this path allocates, frees or transmits.
//
// Input: one control byte (bit 0: an exception interface is configured), then the frame.
//
// Properties: the SSE2 and portable FastMatch agree; a packet not forwarded is untouched; a drop
// names a reason; a forwarded packet is exactly the UDP datagram it carried, behind headers from
// the relay to the other leg of a live, bound session, with a valid IPv4 header checksum and a
// UDP checksum that is valid whenever the received one was (and, to IPv6, even when the IPv4
// sender sent none).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/fast_match.h"
#include "dataplane/leg_template.h"
#include "dataplane/local_identity.h"
#include "dataplane/packet_headers.h"
#include "dataplane/session_table.h"
#include "dataplane/worker.h"
#include "dataplane/worker_inl.h"
#include "fuzz_check.h"

// The portable FastMatch as well, under another name (as tests/unit/fast_match_scalar_tu.cc).
#define FastMatch ScalarFastMatch
#define HeaderRegs ScalarHeaderRegs
#include "dataplane/fast_match_scalar.h"
#undef FastMatch
#undef HeaderRegs

namespace dprelay {
namespace {

using worker_internal::PacketResult;
using worker_internal::Verdict;

constexpr uint16_t kHeadroom = RTE_PKTMBUF_HEADROOM;
constexpr uint32_t kCapacity = 8;  // VNIs 1..8

Ip6Bytes Ip6(const char* text) {
  Ip6Bytes b;
  FUZZ_CHECK(inet_pton(AF_INET6, text, b.data()) == 1);
  return b;
}

// A client leg as the seeds address it: IPv4 198.51.100.x or IPv6 2001:db8::x, ports 41641+.
struct Client {
  bool v6;
  const char* ip;
  uint16_t port;
};

// VNI 1: IPv4 <-> IPv4. VNI 2: IPv4 <-> IPv6. VNI 3: IPv6 <-> IPv6. VNI 4: one leg unbound.
// VNI 5: IPv4 <-> IPv4 with the second leg's next hop unresolved. VNI 6: expired (installed,
// then cleared as SessionManager does: a slot that is not live has no bound leg).
constexpr Client kClients[][2] = {
    {{false, "198.51.100.10", 41641}, {false, "198.51.100.20", 41642}},
    {{false, "198.51.100.11", 41643}, {true, "2001:db8::21", 41644}},
    {{true, "2001:db8::12", 41645}, {true, "2001:db8::22", 41646}},
    {{false, "198.51.100.13", 41647}, {false, "198.51.100.23", 41648}},
    {{false, "198.51.100.14", 41649}, {false, "198.51.100.24", 41650}},
    {{false, "198.51.100.15", 41651}, {false, "198.51.100.25", 41652}},
};

struct World {
  LocalIdentity local;
  SessionTable table{kCapacity, 1, /*ipv6=*/true};
  LcoreCounters counters;
  WorkerContext ctx;
  WorkerContext ctx_exception;
  // A ring is only compared with nullptr on this path; this one is never dereferenced.
  alignas(64) char fake_ring[64] = {};

  World() {
    local.ip_be = inet_addr("203.0.113.1");
    local.port_be = htons(40000);
    local.mac = {0x02, 0xdd, 0, 0, 0, 0x01};
    local.ipv6 = true;
    local.ip6 = Ip6("2001:db8::1");
    local.ll6 = LinkLocalFromMac(local.mac);
    const MacAddr next_hop = {0x02, 0xee, 0, 0, 0, 0x02};
    for (uint32_t vni = 1; vni <= std::size(kClients); ++vni) {
      LegFwd fwd[2];
      LegFwd6 fwd6[2];
      for (int i = 0; i < 2; ++i) {
        const Client& c = kClients[vni - 1][i];
        LegEndpoints e{.local_ip_be = local.ip_be, .local_port_be = local.port_be,
                       .local_mac = local.mac, .v6 = c.v6};
        e.peer_port_be = htons(c.port);
        if (c.v6) {
          e.local_ip6 = local.ip6;
          e.peer_ip6 = Ip6(c.ip);
        } else {
          e.peer_ip_be = inet_addr(c.ip);
        }
        const bool unresolved = vni == 5 && i == 1;
        fwd[i] = BuildLegFwd(e, unresolved ? NextHopState::kUnresolved : NextHopState::kResolved,
                             unresolved ? nullptr : &next_hop, &fwd6[i]);
      }
      if (vni == 4) {
        fwd[1] = LegFwd{};
      }
      table.Publish(vni, /*live=*/true, fwd[0], fwd[1], &fwd6[0], &fwd6[1]);
    }
    table.Clear(6);
    ctx.table = &table;
    ctx.counters = &counters;
    ctx.local_ip_be = local.ip_be;
    ctx.relay_port_be = local.port_be;
    SetWorkerIpv6(local, &ctx);
    ctx_exception = ctx;
    ctx_exception.to_exception = reinterpret_cast<rte_ring*>(fake_ring);
  }
};

World& TheWorld() {
  static World* world = new World();
  return *world;
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The UDP datagram a frame carries when it is a well-formed IPv4 or IPv6 UDP packet, with
// whether its checksum is valid (IPv4 0: none).
struct Datagram {
  bool v6 = false;
  size_t udp_at = 0;
  size_t udp_len = 0;
  bool csum_valid = false;
  bool csum_zero = false;
};

// The UDP checksum over the datagram (udp_len bytes, not whatever the IP length adds after it)
// and its pseudo-header: valid when everything sums to 0xffff.
bool UdpChecksumValid(const uint8_t* src, const uint8_t* dst, size_t addr_len, const uint8_t* udp,
                      size_t udp_len) {
  std::vector<uint8_t> b(src, src + addr_len);
  b.insert(b.end(), dst, dst + addr_len);
  if (addr_len == 4) {
    b.insert(b.end(), {0, IPPROTO_UDP, static_cast<uint8_t>(udp_len >> 8),
                       static_cast<uint8_t>(udp_len)});
  } else {
    b.insert(b.end(), {0, 0, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len),
                       0, 0, 0, IPPROTO_UDP});
  }
  b.insert(b.end(), udp, udp + udp_len);
  return rte_raw_cksum(b.data(), b.size()) == 0xffff;
}

bool ParseUdp(const uint8_t* f, size_t len, Datagram* d) {
  if (len < kEthHdrLen) {
    return false;
  }
  const uint16_t type = Be16(f + 12);
  if (type == 0x0800 && len >= kV4HeaderLen && f[14] == 0x45 && f[23] == IPPROTO_UDP) {
    d->v6 = false;
    d->udp_at = kEthHdrLen + kIpv4HdrLen;
    d->udp_len = Be16(f + d->udp_at + 4);
    if (d->udp_len < kUdpHdrLen || d->udp_at + d->udp_len > len) {
      return false;
    }
    d->csum_zero = Be16(f + d->udp_at + 6) == 0;
    d->csum_valid = !d->csum_zero && UdpChecksumValid(f + kEthHdrLen + 12, f + kEthHdrLen + 16, 4,
                                                      f + d->udp_at, d->udp_len);
    return true;
  }
  if (type == 0x86dd && len >= kV6HeaderLen && f[kEthHdrLen + 6] == IPPROTO_UDP) {
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f + kEthHdrLen);
    d->v6 = true;
    d->udp_at = kEthHdrLen + kIpv6HdrLen;
    d->udp_len = Be16(f + d->udp_at + 4);
    if (d->udp_len < kUdpHdrLen || d->udp_at + d->udp_len > len ||
        ntohs(ip->payload_len) < d->udp_len) {
      return false;
    }
    d->csum_zero = Be16(f + d->udp_at + 6) == 0;
    d->csum_valid = !d->csum_zero && UdpChecksumValid(f + kEthHdrLen + 8, f + kEthHdrLen + 24,
                                                      16, f + d->udp_at, d->udp_len);
    return true;
  }
  return false;
}

void CheckForwarded(const World& w, const std::vector<uint8_t>& in, const uint8_t* out,
                    size_t out_len) {
  Datagram rx, tx;
  FUZZ_CHECK(ParseUdp(in.data(), in.size(), &rx));
  FUZZ_CHECK(ParseUdp(out, out_len, &tx));
  // Exactly the received datagram's payload behind the new headers, nothing after it.
  FUZZ_CHECK(tx.udp_at + tx.udp_len == out_len);
  FUZZ_CHECK(tx.udp_len == rx.udp_len);
  FUZZ_CHECK(std::memcmp(out + tx.udp_at + kUdpHdrLen, in.data() + rx.udp_at + kUdpHdrLen,
                         rx.udp_len - kUdpHdrLen) == 0);
  // From the relay's address and port, to a bound leg of the VNI it carried.
  FUZZ_CHECK(std::memcmp(out + 6, w.local.mac.data(), 6) == 0);
  FUZZ_CHECK(std::memcmp(out + tx.udp_at, &w.local.port_be, 2) == 0);
  const uint32_t vni = uint32_t{out[tx.udp_at + 12]} << 16 | uint32_t{out[tx.udp_at + 13]} << 8 |
                       out[tx.udp_at + 14];
  FUZZ_CHECK(vni >= 1 && vni <= std::size(kClients) && vni != 6);
  const uint16_t dport = Be16(out + tx.udp_at + 2);
  bool to_leg = false;
  for (const Client& c : kClients[vni - 1]) {
    if (c.v6 != tx.v6 || c.port != dport) {
      continue;
    }
    if (c.v6) {
      to_leg = std::memcmp(out + kEthHdrLen + 24, Ip6(c.ip).data(), 16) == 0;
    } else {
      const uint32_t ip = inet_addr(c.ip);
      to_leg = std::memcmp(out + kEthHdrLen + 16, &ip, 4) == 0;
    }
  }
  FUZZ_CHECK(to_leg);
  if (tx.v6) {
    FUZZ_CHECK(std::memcmp(out + kEthHdrLen + 8, w.local.ip6.data(), 16) == 0);
    FUZZ_CHECK(Be16(out + kEthHdrLen + 4) == tx.udp_len);
    // IPv6 requires a checksum: computed when the IPv4 sender sent none.
    if (rx.csum_valid || (!rx.v6 && rx.csum_zero)) {
      FUZZ_CHECK(tx.csum_valid);
    }
  } else {
    FUZZ_CHECK(std::memcmp(out + kEthHdrLen + 12, &w.local.ip_be, 4) == 0);
    FUZZ_CHECK(Be16(out + kEthHdrLen + 2) == kIpv4HdrLen + tx.udp_len);
    FUZZ_CHECK(rte_raw_cksum(out + kEthHdrLen, kIpv4HdrLen) == 0xffff);
    if (rx.csum_valid) {
      FUZZ_CHECK(tx.csum_valid);
    }
    if (!rx.v6 && rx.csum_zero) {
      FUZZ_CHECK(tx.csum_zero);  // an IPv4 sender's "no checksum" is forwarded as such
    }
  }
}

int FuzzOne(const uint8_t* data, size_t size) {
  if (size < 1 || size - 1 > UINT16_MAX - kHeadroom) {
    return 0;
  }
  World& w = TheWorld();
  const WorkerContext& ctx = (data[0] & 1) != 0 ? w.ctx_exception : w.ctx;
  const std::vector<uint8_t> in(data + 1, data + size);

  // Headroom, then the frame, and not a byte more: ASan sees any access outside.
  const size_t buf_len = kHeadroom + in.size();
  std::unique_ptr<uint8_t[]> buf(new uint8_t[buf_len]);
  std::memset(buf.get(), 0, kHeadroom);
  std::copy(in.begin(), in.end(), buf.get() + kHeadroom);
  rte_mbuf m;
  std::memset(&m, 0, sizeof(m));
  m.buf_addr = buf.get();
  m.buf_len = static_cast<uint16_t>(buf_len);
  m.data_off = kHeadroom;
  m.data_len = static_cast<uint16_t>(in.size());
  m.pkt_len = static_cast<uint32_t>(in.size());
  m.nb_segs = 1;
  m.next = nullptr;

  const uint32_t len32 = static_cast<uint32_t>(in.size());
  if (in.size() >= 40) {  // both read bytes 12..39 once the length allows a match
    const bool sse = FastMatch(ctx.local_ip_be, ctx.relay_port_be).Matches(in.data(), len32);
    const bool scalar =
        ScalarFastMatch(ctx.local_ip_be, ctx.relay_port_be).Matches(in.data(), len32);
    FUZZ_CHECK(sse == scalar);
  }

  const PacketResult r = worker_internal::ProcessPacketForTest(ctx, ctx.table->stats_block(0), &m);
  const uint8_t* out = rte_pktmbuf_mtod(&m, const uint8_t*);
  const size_t out_len = rte_pktmbuf_data_len(&m);
  FUZZ_CHECK(m.pkt_len == m.data_len);
  FUZZ_CHECK(m.data_off + size_t{m.data_len} <= buf_len);
  switch (r.verdict) {
    case Verdict::kForward:
    case Verdict::kForwardCounted:
      CheckForwarded(w, in, out, out_len);
      break;
    case Verdict::kDrop:
      FUZZ_CHECK(r.reason != DropReason::kNotDropped);
      [[fallthrough]];
    case Verdict::kToMain:
    case Verdict::kToException:
      if (r.verdict == Verdict::kToException) {
        FUZZ_CHECK(ctx.to_exception != nullptr);
      }
      FUZZ_CHECK(out_len == in.size() && std::equal(in.begin(), in.end(), out));
      break;
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
