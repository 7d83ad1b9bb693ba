// Addresses no leg may be bound to (docs/SECURITY.md "Martian filter"): a Bind from one gets no
// Challenge, a re-installed leg with one stays unbound, so the relay never forwards a peer's
// traffic to itself (a loop through the gateway), to a load balancer's advertised address (a
// loop through it), onto the LAN as broadcast or multicast, or to nowhere. Checked before any
// cryptography, in O(1) (the advertised endpoints are a handful). Pure: no DPDK.
#pragma once

#include <optional>
#include <vector>

#include "dataplane/local_identity.h"
#include "dataplane/neighbours.h"
#include "proto/addr.h"
#include "proto/drop_reasons.h"

namespace dprelay {

class MartianFilter {
 public:
  MartianFilter(const LocalIdentity& local, const Ipv4Subnet& v4);

  // The reason `a` may not be a leg's address, or nullopt for a usable client address:
  // our own addresses (relay and link-local), the advertised endpoints, 0.0.0.0/8 and ::,
  // 127.0.0.0/8 and ::1, limited and subnet broadcast, multicast (224.0.0.0/4, ff00::/8),
  // IPv4-mapped IPv6 (::ffff:0:0/96: a client reaching us over IPv4 is seen as IPv4), port 0.
  std::optional<DropReason> Check(const AddrPort& a) const;

  // What control advertises besides our own addresses (static endpoints, e.g. an NLB's).
  void set_advertised(std::vector<AddrPort> advertised) { advertised_ = std::move(advertised); }

 private:
  const LocalIdentity local_;
  const uint32_t subnet_broadcast_be_;  // 0 when the prefix has none (/31, /32)
  std::vector<AddrPort> advertised_;
};

}  // namespace dprelay
