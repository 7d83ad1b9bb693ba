// Allocation: ask the control process's allocation socket for the relay endpoint of the
// pair (self, peer), as PROTOCOL.md §0/§1 describe (disco 0x08 -> 0x09, naked over UDP).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/udp_socket.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/key.h"

namespace dprelay::client {

struct AllocateConfig {
  DiscoKeyPair self;
  DiscoKey peer;
  AddrPort control;      // the allocation socket
  DiscoKey control_key;  // the control process's long-term public key
  // Reference client timing (relaymanager.go): one resend at 3 s, give up at 10 s.
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration resend_after = absl::Seconds(3);
  uint32_t generation = 0;  // 0: draw a random non-zero one
  // Set: give up (Cancelled) within kAllocateStopCheck of it being set, e.g. a bridge told to
  // stop, instead of waiting out `timeout`.
  const std::atomic<bool>* stop = nullptr;
};

// How often Allocate() looks at AllocateConfig::stop while it waits.
inline constexpr absl::Duration kAllocateStopCheck = absl::Milliseconds(100);

struct AllocateStats {
  uint64_t requests_sent = 0;
  // Datagrams that were not the matching response: other sources, not disco, wrong
  // sender, did not open, other message types, other generation or pair.
  uint64_t ignored = 0;
};

// Sends the request from `socket`, waits for the sealed response from the control address
// whose generation and sorted pair match. DeadlineExceeded "no allocation response from
// <addr> after 10s" when none arrives in time; Cancelled when config.stop was set.
absl::StatusOr<UdpRelayEndpoint> Allocate(const AllocateConfig& config, UdpSocket& socket,
                                          AllocateStats* stats = nullptr);

// "allocation vni=7 lamport=1 server=discokey:<hex> addrs=ip:port,ip:port
//  bind_lifetime=30s steady_state_lifetime=5m"
std::string FormatAllocation(const UdpRelayEndpoint& endpoint);

// "10s", "1.5s", "5m", "250ms": absl's duration text.
std::string FormatDurationShort(absl::Duration d);

}  // namespace dprelay::client
