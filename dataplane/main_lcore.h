// The main lcore's slow work (DESIGN.md §3): the handshake, ARP, ICMP echo, session installs
// and expiry, IPC with control. Its rooms: frame_handlers (ARP, ICMP, ND as pure functions),
// NeighbourResponder (learning and resolving next hops), SessionManager (sessions and the
// handshake); MainLcore keeps the rings, the IPC dispatch and the housekeeping clock. It transmits on its own TX queue (index = number of workers).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/ipc_server.h"
#include "dataplane/main_output.h"
#include "dataplane/neighbour_responder.h"
#include "dataplane/reply_limiter.h"
#include "dataplane/neighbours.h"
#include "dataplane/session_manager.h"
#include "dataplane/stats_source.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace dprelay {

struct MainLcoreContext {
  LocalIdentity local;
  uint16_t tx_queue = 0;
  uint32_t lcore_index = 0;  // counter block
  LcoreCounters* counters = nullptr;
  MainRings from_workers;  // per class of work, each with its budget per poll
  rte_ring* tx_handoff = nullptr;  // set when the port has no TX queue for the main lcore
  rte_mempool* pool = nullptr;     // for packets the main lcore originates (ARP requests)
  // The exception interface, if any: ARP replies addressed to us are handed to the kernel as
  // well, so that its neighbour table fills (docs/DECISIONS.md "Exception interface").
  ExceptionPath* exception = nullptr;
  uint32_t capacity = 0;
};

class MainLcore {
 public:
  MainLcore(const MainLcoreContext& ctx, SessionTable* table, Neighbours* neighbours,
            std::unique_ptr<IpcServer> ipc);

  // One iteration: packets from workers, IPC, and once a second expiry and neighbour requests.
  // Returns packets handled.
  unsigned Poll(uint64_t now_ns);
  // Handles one packet a worker handed over; consumes the mbuf.
  void HandlePacket(rte_mbuf* m, uint64_t now_ns);

  SessionManager& sessions() { return sessions_; }
  // Whether a control process is connected on the IPC socket now.
  bool control_connected() const { return ipc_ != nullptr && ipc_->connected(); }
  // Counter snapshot including every lcore, for logs and the IPC stats reply (the IPC server's
  // own counters copied in first). Main lcore only.
  DataplaneCounterValues Counters();
  void set_all_counters(const LcoreCounters* blocks, size_t n) {
    stats_.blocks = blocks;
    stats_.n_blocks = n;
  }
  // The rings between lcores, for their occupancy in stats (kRings order; nullptr = none).
  void set_rings(const std::array<const rte_ring*, kNumRings>& rings) { stats_.rings = rings; }
  // What the StatsReply is made of; DPDK telemetry reads the same (dataplane/telemetry.h).
  const StatsSource& stats_source() const { return stats_; }

 private:
  // ARP, ICMP and ICMPv6 frames through their pure handlers (frame_handlers.h): what they
  // teach goes to the neighbour responder, their reply out within `limit`, `on_reply` counted.
  void HandleFrame(rte_mbuf* m, const FrameVerdict& v, uint64_t now_ns, ReplyLimiter& limit,
                   std::atomic<uint64_t>& on_reply);
  // Relay control packets of either family (the workers validated the headers).
  void HandleUdp(rte_mbuf* m, uint64_t now_ns);
  void HandleIpc(ipc::Message&& msg, uint64_t now_ns);
  // Copies the IPC server's counters into the main lcore's counter block: at housekeeping
  // (once a second, for DPDK telemetry's readers) and for every snapshot, not per poll.
  void PublishIpcCounters();

  const MainLcoreContext ctx_;
  const MainOutput out_;
  SessionManager sessions_;
  NeighbourResponder responder_;
  // What answers to unauthenticated packets may cost (reply_limiter.h).
  ReplyLimiter challenge_limit_{ReplyLimiter::kChallenges};
  ReplyLimiter echo_limit_{ReplyLimiter::kEcho};
  ReplyLimiter neighbour_limit_{ReplyLimiter::kNeighbour};
  std::unique_ptr<IpcServer> ipc_;
  // Handshakes waiting in their ring at which the main lcore counts as behind.
  static constexpr unsigned kHandshakePressure = InfoOf(MainClass::kHandshake).ring_size / 4;
  bool handshake_pressure_ = false;  // this poll started behind
  uint64_t next_housekeeping_ns_ = 0;
  StatsSource stats_;
};

}  // namespace dprelay
