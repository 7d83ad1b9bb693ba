// The main lcore's neighbours: learning what ARP and Neighbour Discovery frames taught (the
// pure handlers in frame_handlers.h decide what that is), republishing the legs behind a next
// hop whose MAC changed, resolving the next hops bound legs use (ARP requests, Neighbour
// Solicitations), and reporting our solicited-node groups with MLDv2. Main lcore only.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "dataplane/frame_handlers.h"
#include "dataplane/local_identity.h"
#include "dataplane/main_output.h"
#include "dataplane/neighbours.h"
#include "dataplane/session_manager.h"

namespace dprelay {

class NeighbourResponder {
 public:
  NeighbourResponder(const LocalIdentity& local, const MainOutput& out, Neighbours* neighbours,
                     SessionManager* sessions);

  // Records what a frame taught. Republishes the legs behind a changed next hop: a few at once
  // (a client that just resolved should not wait), the rest batched into Housekeeping, so that
  // changes to many next hops (or a host on the link that keeps sending them) cost a few scans
  // a second, not one each.
  // Returns why nothing was learned when that is a refusal worth counting (nd_unsolicited: an
  // advertisement for an address we never asked about).
  std::optional<DropReason> Learn(const LearnedNeighbour& n, uint64_t now_ns);
  // Once a second: forgets stale entries, republishes the batched changes, asks for next hops
  // that need resolving, and sends the MLD report when it is due.
  void Housekeeping(uint64_t now_ns);

 private:
  // ARP or a Neighbour Solicitation, by the family of the next hop.
  void ResolveNextHop(const IpAddr& hop);
  void SendArpRequest(uint32_t target_be);
  void SendNeighbourSolicitation(const Ip6Bytes& target);
  // An MLDv2 report listing the solicited-node groups of our IPv6 addresses (RFC 3810 5.2),
  // so that a switch that snoops MLD forwards the solicitations for them to us.
  void SendMldReport();

  const LocalIdentity local_;
  const MainOutput out_;
  Neighbours* const neighbours_;
  SessionManager* const sessions_;
  static constexpr int kImmediateRepublishes = 8;
  int immediate_republishes_ = kImmediateRepublishes;
  absl::flat_hash_set<IpAddr> changed_hops_;
  uint64_t next_mld_report_ns_ = 0;
};

}  // namespace dprelay
