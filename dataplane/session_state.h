// What the main lcore keeps per installed session, besides the slot workers read (DESIGN.md §3,
// DECISIONS.md "Memory per session"). 208 bytes, of which 128 are the client keys and their
// precomputed shared keys. Not stored here because it is elsewhere already:
//   - the bound addresses: the session's slot (and IPv6 side record) hold them, and the main
//     lcore is the slot's only writer, so it reads them back without a read section;
//   - the server key and lifetimes: interned in an InstallParamsTable, referred to by `params`;
//   - the install time: an unbound leg's seen_ms is the (re)install time, nothing else sets it.
//
// Concurrency: main lcore only; workers never read it.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/handshake.h"
#include "dataplane/open_budget.h"

namespace dprelay {

struct SessionState {
  HandshakeState hs;    // hs.vni == 0: a free pool record
  uint16_t params = 0;  // InstallParamsTable index: server key, lifetimes
  // Per leg, on the MsStamp clock (1 ms, wraps after 49.7 days): the (re)install for an
  // unbound leg; for a bound leg the later of its last valid Answer and the housekeeping run
  // that saw its packet count move (so data is seen to within one second).
  std::array<uint32_t, 2> seen_ms = {0, 0};
  // Low 32 bits of the leg's packet count (summed over lcores) at the last housekeeping: a
  // leg cannot send 2^32 packets in one second, so a change of these bits is a change.
  std::array<uint32_t, 2> seen_packets = {0, 0};
  // Handshake round trip at the last valid Answer, in microseconds (0: not measured here).
  std::array<uint32_t, 2> rtt_us = {0, 0};
  // Box opens per leg (open_budget.h): [leg][0] from the leg's bound address, [leg][1] from
  // anywhere else.
  std::array<std::array<OpenBudget<>, 2>, 2> opens{};
  // Control's LamportID and allocation time, returned by the dump so that a restarted
  // control process can rebuild its registry.
  uint64_t lamport_id = 0;
  int64_t allocated_at_unix_ns = 0;
};
static_assert(sizeof(SessionState) == 208, "keys, parameters, stamps, open budgets");

}  // namespace dprelay
