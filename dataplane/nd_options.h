// Neighbour Discovery option lists (RFC 4861 4.6), from untrusted packets: pure parsing with
// no DPDK, so that it can be unit-tested and fuzzed on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/neighbours.h"

namespace dprelay {

inline constexpr uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdOptTargetLinkAddr = 2;
// type, length 1 (in units of 8 bytes), MAC
inline constexpr size_t kNdLinkAddrOptionLen = 8;

// Options are (type, length in 8-byte units) with length > 0, each inside the `len` bytes at
// `opt`. Returns false on a malformed list; *mac is the first link-layer address option of
// `type` (left empty if there is none).
bool FindNdLinkAddr(const uint8_t* opt, size_t len, uint8_t type, std::optional<MacAddr>* mac);

}  // namespace dprelay
