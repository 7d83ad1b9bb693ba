// The main lcore's view of sessions: installs and removals from control, the handshake, leg
// templates and their next hops, and lifetimes. The only writer of the SessionTable.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "dataplane/handshake.h"
#include "dataplane/leg_template.h"
#include "dataplane/neighbours.h"
#include "dataplane/session_table.h"
#include "proto/ipc.h"

namespace dprelay {

// The relay's own identity on its port.
struct LocalIdentity {
  uint32_t ip_be = 0;
  uint16_t port_be = 0;
  MacAddr mac{};
  uint16_t port_id = 0;
  // The IPv6 relay address, when there is one; ll6 is the link-local address derived from
  // the MAC (Neighbour Discovery only).
  bool ipv6 = false;
  Ip6Bytes ip6{};
  Ip6Bytes ll6{};
};

struct SessionView {
  uint32_t vni = 0;
  std::array<DiscoKey, 2> keys;
  std::array<AddrPort, 2> bound;  // invalid = not bound
  std::array<uint64_t, 2> packets = {0, 0};
  std::array<uint64_t, 2> bytes = {0, 0};
};

class SessionManager {
 public:
  SessionManager(SessionTable* table, Neighbours* neighbours, const LocalIdentity& local);

  // From control. Legs that come bound (re-install after a restart) are published at once.
  absl::Status Install(const ipc::InstallSession& m, uint64_t now_ns);
  void Remove(uint32_t vni);

  // A control packet for vni from src; on a valid Answer (kBound) the leg is bound, or moved,
  // and published before this returns.
  HandshakeResult HandleControl(uint32_t vni, std::span<const uint8_t> disco, const AddrPort& src,
                                uint64_t now_ns);

  // A neighbour was learned, changed or forgotten: republish legs whose next hop it is.
  void OnNeighbourChanged(const IpAddr& ip);
  // Next hops of bound legs, each once (from a count kept at bind and unbind): the main lcore
  // keeps them resolved and fresh.
  std::vector<IpAddr> NextHopsInUse() const;

  // Sessions whose lifetime ran out (PROTOCOL.md §4 GC rules); they are removed.
  // last_seen comes from worker TSC stamps, converted with tsc_to_ns.
  std::vector<uint32_t> Expire(uint64_t now_ns, uint64_t now_tsc, uint64_t tsc_hz);

  std::vector<SessionView> List() const;
  size_t size() const { return sessions_.size(); }

  // One page of the session dump for control (ipc::DumpRequest): live sessions with
  // VNI >= from_vni in ascending order, at most max_sessions, found by scanning at most
  // max_scan VNIs so that one page never stalls the main lcore. *next_vni is where the next
  // page starts, 0 after the last VNI of the table.
  // Idle times are measured at (now_ns, now_tsc).
  std::vector<ipc::SessionRecord> DumpPage(uint32_t from_vni, size_t max_sessions,
                                           uint32_t max_scan, uint32_t* next_vni, uint64_t now_ns,
                                           uint64_t now_tsc, uint64_t tsc_hz) const;

 private:
  struct Session {
    HandshakeState hs;
    std::array<AddrPort, 2> bound;
    std::array<uint64_t, 2> answer_ns = {0, 0};  // last valid Answer per leg
    std::array<uint64_t, 2> rtt_ns = {0, 0};     // handshake round trip at that Answer
    uint64_t installed_ns = 0;
    int64_t bind_lifetime_ns = 0;
    int64_t steady_state_lifetime_ns = 0;
    // Control's LamportID and allocation time, returned by the dump so that a restarted
    // control process can rebuild its registry.
    uint64_t lamport_id = 0;
    int64_t allocated_at_unix_ns = 0;
  };

  void PublishLeg(uint32_t vni, int leg, const AddrPort& addr);
  // Records addr (invalid = unbound) as leg `leg` of s, keeping next_hop_refs_ in step.
  void SetBound(Session& s, int leg, const AddrPort& addr);
  // The leg's template; *v6 is filled for an IPv6 address.
  LegFwd MakeLeg(const AddrPort& addr, LegFwd6* v6) const;
  // The leg's last sign of life: its last data packet (worker TSC stamp) or valid Answer,
  // or the install for an unbound leg.
  uint64_t LastSeenNs(uint32_t vni, const Session& s, int leg, uint64_t now_ns, uint64_t now_tsc,
                      uint64_t tsc_hz) const;

  SessionTable* const table_;
  Neighbours* const neighbours_;
  const LocalIdentity local_;
  MacSecrets macs_;
  absl::flat_hash_map<uint32_t, Session> sessions_;
  // Next hop -> bound legs behind it: what housekeeping keeps resolved, without a scan of
  // every session each second.
  absl::flat_hash_map<IpAddr, uint32_t> next_hop_refs_;
};

}  // namespace dprelay
