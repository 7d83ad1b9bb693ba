// Building the precomputed header a bound leg is forwarded with (DESIGN.md §3).
#pragma once

#include <cstdint>

#include "dataplane/neighbours.h"
#include "dataplane/session_table.h"

namespace dprelay {

struct LegEndpoints {
  uint32_t local_ip_be = 0;  // relay address the leg talks to
  uint16_t local_port_be = 0;
  uint32_t peer_ip_be = 0;  // the client's bound address
  uint16_t peer_port_be = 0;
  MacAddr local_mac{};
};

// A bound leg: match fields always set; a full template only when the next hop is resolved.
LegFwd BuildLegFwd(const LegEndpoints& e, NextHopState state, const MacAddr* next_hop_mac);

}  // namespace dprelay
