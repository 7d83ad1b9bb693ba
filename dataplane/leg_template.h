// Building the precomputed header a bound leg is forwarded with (DESIGN.md §3).
#pragma once

#include <cstdint>

#include "dataplane/neighbours.h"
#include "dataplane/session_table.h"

namespace dprelay {

// One leg's two ends: the relay address and port the client talks to, and the client's bound
// address. IPv4 legs use the _be fields, IPv6 legs (v6 = true) the 16-byte ones.
struct LegEndpoints {
  uint32_t local_ip_be = 0;  // relay address the leg talks to
  uint16_t local_port_be = 0;
  uint32_t peer_ip_be = 0;  // the client's bound address
  uint16_t peer_port_be = 0;
  MacAddr local_mac{};
  bool v6 = false;
  Ip6Bytes local_ip6{};
  Ip6Bytes peer_ip6{};
};

// A bound leg: match fields always set; a full template only when the next hop is resolved.
// For an IPv6 leg, *v6 receives its address and template (required then).
LegFwd BuildLegFwd(const LegEndpoints& e, NextHopState state, const MacAddr* next_hop_mac,
                   LegFwd6* v6 = nullptr);

// Ones'-complement sum of n 32-bit words (memory order) with end-around carry: the form in
// which templates keep the addresses and ports of their pseudo-header.
uint32_t SumWords32(const void* p, size_t n_words);

}  // namespace dprelay
