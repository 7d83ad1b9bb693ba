// Messages between dprelay-control and dprelay-dataplane over a unix SOCK_SEQPACKET socket
// (DESIGN.md §5). One datagram = one message: header {version u16, type u16, body length u32}
// then the body, all big-endian. Decoding checks the version and every length.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/addr.h"
#include "proto/counter_catalogue.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::ipc {

// 2: InstallSession carries lamport_id and allocated_at; DumpRequest/DumpReply.
// 4: Advertised.
// 5: StatsReply carries the counter catalogue's values (proto/counter_catalogue.h) by position
//    and the NIC's xstats by port and name, instead of name/value strings.
// 6: StatsReply carries per-worker counters and ring occupancy.
inline constexpr uint16_t kVersion = 6;
inline constexpr size_t kHeaderLen = 8;
// Largest datagram either side sends or accepts; a stats reply is the biggest message.
inline constexpr size_t kMaxMessageLen = 64 * 1024;
// Longest string field (an install error, an xstat name). Encode cuts longer strings to this
// length; Decode refuses longer ones.
inline constexpr size_t kMaxStringLen = 1024;

enum class Type : uint16_t {
  kHello = 1,           // dataplane -> control, first message after connect
  kInstallSession = 2,  // control -> dataplane
  kRemoveSession = 3,   // control -> dataplane
  kInstallResult = 4,   // dataplane -> control, one per install
  kLegBound = 5,        // dataplane -> control: a leg bound or moved
  kSessionExpired = 6,  // dataplane -> control: lifetime ran out, VNI freed
  kStatsRequest = 7,    // control -> dataplane
  kStatsReply = 8,      // dataplane -> control
  kDumpRequest = 9,     // control -> dataplane: one page of live sessions
  kDumpReply = 10,      // dataplane -> control
  kAdvertised = 11,     // control -> dataplane: endpoints advertised besides the relay's own
};

// Sessions per DumpReply page: 256 records of 186 bytes keep a reply near 47 KiB, under
// kMaxMessageLen.
inline constexpr size_t kDumpPageSessions = 256;

// The dataplane's relay addresses (where clients send Binds and data) and table size.
struct Hello {
  std::vector<AddrPort> relay_addrs;
  uint32_t capacity = 0;  // largest VNI the session table can hold
};

struct InstallSession {
  uint32_t vni = 0;
  std::array<DiscoKey, 2> client_keys;  // sorted
  // crypto_box_beforenm(client_key[i], server disco private key): the dataplane never
  // sees a private key.
  std::array<SharedKey, 2> shared;
  DiscoKey server_key;  // public; the sender field of every Challenge
  int64_t bind_lifetime_ns = 0;
  int64_t steady_state_lifetime_ns = 0;
  // Legs already bound (control re-installing after a dataplane restart); invalid = unbound.
  std::array<AddrPort, 2> bound;
  // What control told the clients, kept by the dataplane only so that a restarted control
  // process can rebuild its registry from a dump.
  uint64_t lamport_id = 0;
  int64_t allocated_at_unix_ns = 0;
};

struct RemoveSession {
  uint32_t vni = 0;
};

struct InstallResult {
  uint32_t vni = 0;
  bool ok = false;
  std::string error;  // why, when !ok
};

struct LegBound {
  uint32_t vni = 0;
  uint8_t leg = 0;  // 0 or 1, index into the sorted client keys
  AddrPort addr;
};

struct SessionExpired {
  uint32_t vni = 0;
};

struct StatsRequest {};

// One of the NIC's extended statistics (DPDK xstats), named by its PMD.
struct NicXstat {
  uint16_t port = 0;
  std::string name;  // e.g. "rx_q0_packets"
  uint64_t value = 0;

  bool operator==(const NicXstat&) const = default;
};

// One worker lcore's own counters (the catalogue's values are summed over every lcore).
struct WorkerStats {
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t cycles = 0;       // TSC cycles of its loop
  uint64_t busy_cycles = 0;  // of which in polls that found packets

  bool operator==(const WorkerStats&) const = default;
};

// A ring between lcores, now.
struct RingStats {
  uint8_t ring = 0;       // index into kRings (proto/counter_catalogue.h)
  uint32_t count = 0;     // packets waiting
  uint32_t capacity = 0;  // packets it can hold

  bool operator==(const RingStats&) const = default;
};

// The dataplane's counters: every one of the catalogue, in its order (the count on the wire
// must match this build's), each worker's, the rings' occupancy and the NIC's xstats.
struct StatsReply {
  DataplaneCounterValues counters;
  std::vector<WorkerStats> workers;  // in worker order
  std::vector<RingStats> rings;      // the rings this dataplane has, in kRings order
  std::vector<NicXstat> nic;
};

// Asks for live sessions with VNI >= from_vni, at most kDumpPageSessions of them.
struct DumpRequest {
  uint32_t request_id = 0;  // echoed in the reply
  uint32_t from_vni = 0;
};

struct SessionRecord {
  uint32_t vni = 0;
  std::array<DiscoKey, 2> client_keys;       // sorted
  std::array<AddrPort, 2> bound;             // invalid = not bound
  uint64_t lamport_id = 0;                   // as installed
  int64_t allocated_at_unix_ns = 0;          // as installed
  std::array<uint64_t, 2> packets = {0, 0};  // received from each leg and forwarded
  std::array<uint64_t, 2> bytes = {0, 0};    // UDP payload incl. Geneve, as the reference
  // Challenge sent -> valid Answer received at the leg's last bind, as timed by the main
  // lcore: the relay's own round trip to the client. 0 = not measured by this dataplane
  // (unbound, or re-installed after a restart).
  std::array<uint64_t, 2> handshake_rtt_ns = {0, 0};
  // Time since the last packet from the leg (data, or its last valid Answer); for unbound
  // legs, since the install. Data is noticed at the dataplane's once-a-second housekeeping,
  // so this may be up to a second short (docs/DECISIONS.md "Memory per session").
  std::array<uint64_t, 2> idle_ns = {0, 0};
};

struct DumpReply {
  uint32_t request_id = 0;
  std::vector<SessionRecord> sessions;  // ascending VNI
  uint32_t next_vni = 0;                // ask again from here; 0 = this was the last page
};

// What control advertises to clients besides the dataplane's own addresses (static endpoints,
// e.g. an NLB's): no leg may be bound to one (a loop through the load balancer). Sent once
// synced and whenever the list changes; the last one wins.
struct Advertised {
  std::vector<AddrPort> addrs;
};

using Message = std::variant<Hello, InstallSession, RemoveSession, InstallResult, LegBound,
                             SessionExpired, StatsRequest, StatsReply, DumpRequest, DumpReply,
                             Advertised>;

std::vector<uint8_t> Encode(const Message& msg);
absl::StatusOr<Message> Decode(std::span<const uint8_t> in);

}  // namespace dprelay::ipc
