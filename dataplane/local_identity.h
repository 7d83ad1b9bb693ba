// The relay's own identity on its port: what the main lcore answers for and sends from.
#pragma once

#include <cstdint>

#include "dataplane/neighbours.h"

namespace dprelay {

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

}  // namespace dprelay
