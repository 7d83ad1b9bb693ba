// The main lcore's slow work (DESIGN.md §3): the handshake, ARP, ICMP echo, session installs
// and expiry, IPC with control. It transmits on its own TX queue (index = number of workers).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/handshake_limiter.h"
#include "dataplane/ipc_server.h"
#include "dataplane/neighbours.h"
#include "dataplane/session_manager.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace dprelay {

struct MainLcoreContext {
  LocalIdentity local;
  uint16_t tx_queue = 0;
  uint32_t lcore_index = 0;  // counter block
  LcoreCounters* counters = nullptr;
  rte_ring* from_workers = nullptr;
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
  // Counter snapshot including every lcore, for logs and the IPC stats reply.
  std::vector<std::pair<std::string, uint64_t>> Counters() const;
  void set_all_counters(const LcoreCounters* blocks, size_t n) {
    all_counters_ = blocks;
    n_counter_blocks_ = n;
  }

 private:
  void HandleArp(rte_mbuf* m, uint64_t now_ns);
  void HandleIcmp(rte_mbuf* m);
  // Relay control packets of either family (the workers validated the headers).
  void HandleUdp(rte_mbuf* m, uint64_t now_ns);
  void HandleIpc(ipc::Message&& msg, uint64_t now_ns);
  void SendArpRequest(uint32_t target_be);
  // ARP or a Neighbour Solicitation, by the family of the next hop.
  void ResolveNextHop(const IpAddr& hop);
  // override: false for an IPv6 advertisement without the O flag.
  void LearnNeighbour(const IpAddr& ip, const MacAddr& mac, uint64_t now_ns, bool override = true);
  // main_lcore_nd.cc: ICMPv6 (echo, Neighbour Solicitation and Advertisement) and our own
  // solicitations.
  void HandleIcmp6(rte_mbuf* m, uint64_t now_ns);
  void AnswerNeighbourSolicitation(rte_mbuf* m, uint64_t now_ns);
  void LearnFromNeighbourAdvertisement(rte_mbuf* m, uint64_t now_ns);
  void AnswerEcho6(rte_mbuf* m);
  void SendNeighbourSolicitation(const Ip6Bytes& target);
  // An MLDv2 report listing the solicited-node groups of our IPv6 addresses (RFC 3810 5.2),
  // so that a switch that snoops MLD forwards the solicitations for them to us.
  void SendMldReport();
  void Transmit(rte_mbuf* m);
  void Drop(rte_mbuf* m, DropReason r);
  // A new frame of `len` bytes from the pool for a packet the main lcore originates (ARP and
  // ND requests, MLD reports); nullptr, counted as no_mbuf, when the pool is empty.
  rte_mbuf* NewFrame(uint16_t len);
  // ICMP that concerns the kernel's own traffic (echo replies, errors such as "fragmentation
  // needed" or "packet too big", which path MTU discovery needs): to the kernel through the
  // exception interface if there is one, else a counted drop.
  void IcmpForKernel(rte_mbuf* m);

  const MainLcoreContext ctx_;
  const MainTx tx_;
  Neighbours* const neighbours_;
  SessionManager sessions_;
  HandshakeLimiter limiter_;
  std::unique_ptr<IpcServer> ipc_;
  // Neighbour changes republished at once until the next housekeeping, and those waiting for
  // it (LearnNeighbour).
  static constexpr int kImmediateRepublishes = 8;
  int immediate_republishes_ = kImmediateRepublishes;
  absl::flat_hash_set<IpAddr> changed_hops_;
  uint64_t next_housekeeping_ns_ = 0;
  uint64_t next_mld_report_ns_ = 0;
  const LcoreCounters* all_counters_ = nullptr;
  size_t n_counter_blocks_ = 0;
};

}  // namespace dprelay
