// The main lcore's view of sessions: installs and removals from control, the handshake, leg
// templates and their next hops, and lifetimes. The only writer of the SessionTable.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "dataplane/handshake.h"
#include "dataplane/install_params.h"
#include "dataplane/leg_template.h"
#include "dataplane/local_identity.h"
#include "dataplane/martians.h"
#include "dataplane/neighbours.h"
#include "dataplane/record_pool.h"
#include "dataplane/session_state.h"
#include "dataplane/session_table.h"
#include "proto/ipc.h"

namespace dprelay {

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
  // Control's advertised endpoints (ipc::Advertised): martians for legs from now on.
  void set_advertised(std::vector<AddrPort> addrs) { martians_.set_advertised(std::move(addrs)); }

  // A control packet for vni from src; on a valid Answer (kBound) the leg is bound, or moved,
  // and published before this returns. A martian src (martians.h) is dropped first, before any
  // cryptography. Under pressure (the main lcore is behind), or past kBusyOpensPerSecond box
  // opens in this second, the box open is charged to the leg the sender names (open_budget.h)
  // and dropped when its budget is spent.
  HandshakeResult HandleControl(uint32_t vni, std::span<const uint8_t> disco, const AddrPort& src,
                                uint64_t now_ns, bool under_pressure = false);

  // Neighbours were learned, changed or forgotten: republish the legs whose next hop is one of
  // them, in one scan of the sessions.
  void OnNeighboursChanged(const absl::flat_hash_set<IpAddr>& hops);
  // Next hops of bound legs, each once (from a count kept at bind and unbind): the main lcore
  // keeps them resolved and fresh.
  std::vector<IpAddr> NextHopsInUse() const;
  bool IsNextHop(const IpAddr& ip) const { return next_hop_refs_.contains(ip); }

  // Housekeeping, once a second: notes which bound legs' packet counts moved since the last
  // call (those legs were seen now), then removes and returns the sessions whose lifetime ran
  // out (PROTOCOL.md §4 GC rules). Idle times therefore have one-second resolution.
  std::vector<uint32_t> Expire(uint64_t now_ns);

  std::vector<SessionView> List() const;
  size_t size() const { return pool_.live(); }
  // Heap bytes of the main lcore's session state: records, the VNI index, interned
  // parameters, next-hop counts (not the SessionTable).
  size_t MemoryBytes() const;
  // Distinct server key / lifetime combinations referred to by live sessions.
  size_t interned_params() const { return params_.live(); }

  // One page of the session dump for control (ipc::DumpRequest): live sessions with
  // VNI >= from_vni in ascending order, at most max_sessions, found by scanning at most
  // max_scan VNIs so that one page never stalls the main lcore. *next_vni is where the next
  // page starts, 0 after the last VNI of the table.
  // Idle times are measured at now_ns; a leg whose packet count moved since the last
  // housekeeping counts as seen now.
  std::vector<ipc::SessionRecord> DumpPage(uint32_t from_vni, size_t max_sessions,
                                           uint32_t max_scan, uint32_t* next_vni,
                                           uint64_t now_ns) const;

 private:
  static constexpr uint32_t kNoRecord = RecordPool<SessionState>::kNone;

  SessionState* Find(uint32_t vni);
  const SessionState* Find(uint32_t vni) const;
  // Leg `leg` of vni as published in the table (invalid = unbound): the main lcore is the
  // table's only writer, so it reads its own writes without a read section.
  AddrPort Bound(uint32_t vni, int leg) const;
  void PublishLeg(uint32_t vni, int leg, const AddrPort& addr);
  // Counts the next hop of a leg being bound (+1) or unbound (-1) in next_hop_refs_.
  void CountNextHop(const AddrPort& addr, int delta);
  // The leg's template; *v6 is filled for an IPv6 address.
  LegFwd MakeLeg(const AddrPort& addr, LegFwd6* v6) const;
  // The leg's last sign of life on the MsStamp clock: seen_ms, or now if its packet count
  // moved since the last housekeeping.
  uint32_t LastSeenMs(uint32_t vni, const SessionState& s, int leg, uint32_t now_ms) const;

  SessionTable* const table_;
  Neighbours* const neighbours_;
  const LocalIdentity local_;
  MacSecrets macs_;
  MartianFilter martians_;
  // Box opens in all, per second: past this many, every leg is held to its own budget. Far
  // above what legitimate binds need (a storm of 10,000 clients binding in one second opens
  // about 40,000 boxes, each leg within its budget), far below what the main lcore can do.
  static constexpr uint32_t kBusyOpensPerSecond = 20'000;
  OpenBudget<kBusyOpensPerSecond> opens_;
  // Everything below is main-lcore only.
  RecordPool<SessionState> pool_;
  // VNI -> pool record (kNoRecord: none); capacity + 1 entries, 4 bytes per VNI.
  std::vector<uint32_t> index_;
  InstallParamsTable params_;
  // Next hop -> bound legs behind it: what housekeeping keeps resolved, without a scan of
  // every session each second.
  absl::flat_hash_map<IpAddr, uint32_t> next_hop_refs_;
};

}  // namespace dprelay
