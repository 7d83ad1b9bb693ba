// Unbound data: Geneve{ctrl=0, 0x7A12, vni} datagrams sent to a relay address without any
// handshake, to check that a relay does not forward data from an unbound source.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/addr.h"

namespace dprelay::client {

struct SendRawConfig {
  AddrPort relay;
  uint32_t vni = 0;  // 1..kMaxVni
  uint64_t count = 10;
  AddrPort local;
  size_t size = 64;  // payload bytes after the Geneve header (see MakeRawPayload)
  absl::Duration interval = absl::Milliseconds(1);
};

// Returns how many datagrams the kernel accepted. Errors name the address that failed.
absl::StatusOr<uint64_t> SendRaw(const SendRawConfig& config);

}  // namespace dprelay::client
