// `dprelay-peer wg`: bridges a local WireGuard UDP socket through the relay. WireGuard's peer
// endpoint points at the bridge's WireGuard-facing socket (wg_listen); every datagram from
// the local WireGuard goes to the relay as Geneve{ctrl=0, 0x7A12, VNI}, and WireGuard data
// from the relay goes back, unwrapped, to the local WireGuard. The bridge allocates (the pair
// gets the same endpoint whichever side asks first), binds, pings the peer through the relay
// to keep both legs inside their lifetimes and to know the path works, and runs the handshake
// again when its relay-facing address changes, when the path stops answering, or when the
// endpoint changed. Single-threaded; nothing is allocated per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/path_monitor.h"
#include "client/peer_run.h"
#include "client/relay_session.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay::client {

struct WgBridgeConfig {
  DiscoKeyPair self;
  DiscoKey peer;
  AddrPort control;
  DiscoKey control_key;
  AddrPort local;      // relay-facing socket (port 0: the kernel picks one)
  AddrPort wg_listen;  // WireGuard-facing socket: the local WireGuard's peer endpoint
  // The local WireGuard's own address. Absent: the source of the first datagram received
  // on wg_listen, and datagrams from any other source are dropped.
  std::optional<AddrPort> wg_endpoint;
  PathMonitorConfig path;
  absl::Duration allocate_timeout = absl::Seconds(10);
  absl::Duration allocate_resend = absl::Seconds(3);
  absl::Duration bind_timeout = absl::Seconds(10);
  absl::Duration bind_resend = absl::Seconds(1);
};

struct WgBridgeStats {
  uint64_t wg_received = 0;  // datagrams from the local WireGuard
  uint64_t to_relay = 0;     // of those, sent wrapped to the relay
  uint64_t to_relay_bytes = 0;
  uint64_t from_relay = 0;  // WireGuard datagrams unwrapped from the relay
  uint64_t to_wg = 0;       // of those, sent to the local WireGuard
  uint64_t to_wg_bytes = 0;
  uint64_t dropped_unbound = 0;  // from WireGuard with no binding: before the first handshake,
                                 // or between a move and its rebind
  uint64_t dropped_no_wg_endpoint = 0;  // from the relay before the local WireGuard was known
  uint64_t dropped_foreign = 0;         // on wg_listen from another source than the endpoint
  uint64_t send_errors = 0;             // to WireGuard, or of wrapped data to the relay
  uint64_t allocations = 0;             // answered allocation requests, the first included
  uint64_t handshakes = 0;              // completed (Answer sent), the first included
  uint64_t moves = 0;                   // relay-facing socket replaced on request
  std::array<uint64_t, static_cast<size_t>(RebindReason::kCount)> rebinds{};
  SessionStats session;  // summed over every session the bridge had

  // Datagrams this side handed to the relay for forwarding (data, Pings, Pongs), and those
  // the relay forwarded to it (the relay's forwarded counter lies between the sums of the
  // two sides' figures).
  uint64_t relayed_sent() const;
  uint64_t relayed_received() const;
  // "wg_received=.. to_relay=.. from_relay=.. to_wg=.. ... relayed_sent=.. relayed_received=.."
  std::string Format() const;
};

struct WgBridgeControl {
  // Set: return after the current wake-up, or within kAllocateStopCheck (allocate.h) from an
  // allocation.
  const std::atomic<bool>* stop = nullptr;
  // Set: move the relay-facing socket to a new port on the same address (as a NAT rebinding
  // or a socket rebind after a link change would); the bridge notices and rebinds. Cleared
  // by the bridge.
  std::atomic<bool>* move = nullptr;
};

// Emits, in order: "wg listen=<ip:port> endpoint=<ip:port>|learn", the allocation line,
// "bound vni=<n> relay=<ip:port> local=<ip:port> generation=<n>", the first
// "pong from <d:short> via <ip:port>:vni:<n> rtt=<us>us" after each handshake, and then as they
// happen "wg endpoint=<ip:port>" (learned), further allocation lines (a new endpoint) and
// "rebound vni=<n> relay=<ip:port> local=<ip:port> generation=<n> reason=<reason>". Runs until
// *control.stop, which also ends an allocation in progress within kAllocateStopCheck
// (allocate.h; a stop during the first one returns zero counters); returns the counters.
// Errors: sockets that cannot be opened, the first allocation, an endpoint no address of which
// is reachable (the first, or a new one after re-allocation: without a session the bridge
// cannot go on).
absl::StatusOr<WgBridgeStats> RunWgBridge(const WgBridgeConfig& config, const LineSink& out,
                                          const WgBridgeControl& control);

}  // namespace dprelay::client
