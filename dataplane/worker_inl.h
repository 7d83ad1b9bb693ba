// Always-inline helpers shared by the worker's IPv4 fast path (worker.cc) and its IPv6 and
// cross-family path (worker_v6.cc), STYLE.md 15. Not a public interface.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/main_rings.h"
#include "dataplane/packet_headers.h"
#include "dataplane/session_table.h"
#include "dataplane/worker.h"
#include "proto/drop_reasons.h"
#include "proto/geneve.h"

namespace dprelay::worker_internal {

// kForward: rewritten and counted as IPv4 -> IPv4 by the burst loop. kForwardCounted:
// rewritten, with its family direction already counted (IPv6 or cross-family). kToMain: for
// the main lcore, on the ring of `main_class`. kToException: for the kernel, through the
// exception interface.
enum class Verdict : uint8_t { kForward, kForwardCounted, kToMain, kToException, kDrop };

struct PacketResult {
  Verdict verdict;
  DropReason reason = DropReason::kNotDropped;  // when kDrop (or kToException: if none)
  MainClass main_class = MainClass::kHandshake;  // when kToMain
};

__attribute__((always_inline)) inline PacketResult Drop(DropReason r) {
  return {Verdict::kDrop, r};
}
__attribute__((always_inline)) inline PacketResult ToMain(MainClass c) {
  return {Verdict::kToMain, DropReason::kNotDropped, c};
}
__attribute__((always_inline)) inline PacketResult Forward() {
  return {Verdict::kForward, DropReason::kNotDropped};
}
// Traffic for our address that the relay does not serve: the kernel's, if there is an exception
// interface, else a counted drop.
inline PacketResult NotRelay(const WorkerContext& ctx, DropReason r) {
  return ctx.to_exception != nullptr ? PacketResult{Verdict::kToException, r} : Drop(r);
}

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

// An IPv4 header without options verifies (RFC 1071) when the ones'-complement sum of its
// 16-bit words, checksum included, is 0xffff. That sum is the words' sum modulo 0xffff
// (2^16 = 1 mod 0xffff, which also makes 32-bit words in either byte order sum to the same
// residue up to a unit factor), so the five 32-bit words are added as integers and tested with
// one modulo by a constant: about a dozen instructions, no folds. (An all-zero header would
// pass, but its version byte is 0x45 here.) Not the NIC's ol_flags: most PMDs here report
// "unknown" and the test would cost as much as the sum.
__attribute__((always_inline)) inline bool Ipv4HeaderChecksumOk(const uint8_t* ip) {
  const uint64_t sum = uint64_t{Load32(ip)} + Load32(ip + 4) + Load32(ip + 8) + Load32(ip + 12) +
                       Load32(ip + 16);
  return sum % 0xffff == 0;
}

// Sum of the complements of n 32-bit words (memory order): the replaced words' side of an
// incremental checksum update. n is a constant at every call, so this unrolls.
__attribute__((always_inline)) inline uint64_t ComplementSum(const void* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += static_cast<uint32_t>(~Load32(static_cast<const uint8_t*>(p) + 4 * i));
  }
  return sum;
}

// RFC 1624 eqn. 3 on 32-bit words: the old checksum enters complemented, the replaced words
// as the sum of their complements (old_complement), the new ones as the template's sum. The
// pseudo-header's protocol and length contribute the same to IPv4 and IPv6 sums, so this also
// holds across families. A result of 0 is sent as 0xffff (0 means "none" in IPv4 and is
// invalid in IPv6).
__attribute__((always_inline)) inline uint16_t IncrementalUdpChecksum(uint16_t old_csum,
                                                                      uint64_t old_complement,
                                                                      uint32_t new_sum) {
  uint64_t sum = static_cast<uint16_t>(~old_csum) + old_complement + new_sum;
  sum = (sum & 0xffffffff) + (sum >> 32);
  const uint16_t csum =
      static_cast<uint16_t>(~CsumFold(static_cast<uint32_t>(sum) + (sum >> 32 != 0)));
  return csum == 0 ? 0xffff : csum;
}

// The relay-port checks common to both families, on a UDP payload (PROTOCOL.md §4 dispatch):
// STUN, runt, VNI range, control. Returns kForward for data, with *vni set.
__attribute__((always_inline)) inline PacketResult ClassifyRelayPayload(const WorkerContext& ctx,
                                                                        const uint8_t* payload,
                                                                        uint32_t payload_len,
                                                                        uint32_t* vni) {
  if (LooksLikeStun(std::span<const uint8_t>(payload, payload_len))) {
    return Drop(DropReason::kStun);
  }
  if (payload_len < kGeneveHeaderLen) {
    return Drop(DropReason::kGeneveRunt);
  }
  *vni = GeneveVni(payload);
  if (*vni == 0 || *vni > ctx.table->capacity()) {
    return Drop(DropReason::kUnknownVni);
  }
  if (GeneveIsControl(payload)) {
    if (GeneveProtocol(payload) != kGeneveProtocolDisco) {
      return Drop(DropReason::kControlNotDisco);
    }
    // A racy read is fine here: the main lcore re-checks the session under its own state.
    if (__atomic_load_n(&ctx.table->slot(*vni).live, __ATOMIC_RELAXED) == 0) {
      return Drop(DropReason::kUnknownVni);
    }
    return ToMain(MainClass::kHandshake);
  }
  return Forward();
}

// Out of line (worker_v6.cc): an IPv6 frame through every check, in order, then forwarded.
PacketResult ClassifyIpv6(const WorkerContext& ctx, LegStats* leg_stats, rte_mbuf* m) noexcept;

// Out of line (worker_v6.cc): forwards a validated data packet of either family (in_v6), whose
// headers are as received (no options or extension headers; destination our address and relay
// port), to the other leg of either family, resizing the packet when the families differ.
// Finds the exact reason when it cannot. Counts directions other than IPv4 -> IPv4
// (kForwardCounted); IPv4 -> IPv4 is left to the burst loop.
PacketResult ForwardAnyFamily(const WorkerContext& ctx, LegStats* leg_stats, rte_mbuf* m,
                              bool in_v6, uint32_t vni, uint32_t payload_len) noexcept;

// For tests and fuzzers, not the burst loop: one packet through exactly what Poll does to each
// packet (the fast path, else the complete classifier; a forward rewrites the packet), without a
// port or rings. The caller keeps the mbuf whatever the verdict.
PacketResult ProcessPacketForTest(const WorkerContext& ctx, LegStats* leg_stats,
                                  rte_mbuf* m) noexcept;

}  // namespace dprelay::worker_internal
