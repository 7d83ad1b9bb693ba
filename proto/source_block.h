// One source as limits and quotas count it: an IPv4 address, or an IPv6 /64. Any IPv6 host
// controls at least a /64 (SLAAC hands out whole /64s, and privacy addresses rotate within
// them), so counting /128s would give every host as many budgets as it likes.
#pragma once

#include <algorithm>

#include "proto/addr.h"

namespace dprelay {

inline IpAddr SourceBlock(const IpAddr& ip) {
  IpAddr block = ip;
  if (block.is_v6()) {
    std::fill(block.bytes.begin() + 8, block.bytes.end(), 0);
  }
  return block;
}

}  // namespace dprelay
