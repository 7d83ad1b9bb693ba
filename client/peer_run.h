// The `dprelay-peer run` scenario as a library: allocate, bind, ping the peer through the
// relay, exchange self-checking data, and report. Lines meant for scripts go to `out`;
// diagnostics go to the log (stderr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/relay_session.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay::client {

struct PeerRunConfig {
  DiscoKeyPair self;
  DiscoKey peer;
  AddrPort control;
  DiscoKey control_key;
  AddrPort local;  // socket for both allocation and the relay leg

  uint64_t count = 10;  // data packets to send, and to expect from the peer
  size_t size = 100;    // payload bytes per data packet (>= kPayloadSeqLen)
  int pings = 3;        // measured pings after the peer is first reached
  // Whole run, allocation included; the allocation and bind timeouts are capped by it.
  absl::Duration timeout = absl::Seconds(20);
  absl::Duration allocate_timeout = absl::Seconds(10);
  absl::Duration allocate_resend = absl::Seconds(3);
  absl::Duration bind_timeout = absl::Seconds(10);
  absl::Duration bind_resend = absl::Seconds(1);
  absl::Duration ping_interval = absl::Milliseconds(200);
  // How long to wait for the last measured Pong before moving on to data.
  absl::Duration pong_wait = absl::Seconds(1);
  // While the peer has not answered, run the handshake again this often, in case our Answer
  // was lost (the relay never acknowledges it).
  absl::Duration rebind_interval = absl::Seconds(5);
  // Data pacing; 0 sends as fast as the socket accepts.
  double packets_per_second = 1000;
  // After sending and receiving everything, keep answering the peer's Pings this long.
  absl::Duration linger = absl::Seconds(1);
};

struct PeerRunResult {
  uint64_t count = 0;  // what was expected (config.count)
  uint64_t sent = 0;
  uint64_t received = 0;    // distinct sequence numbers that verified
  uint64_t corrupt = 0;     // data from the relay that did not verify against the peer's key
  uint64_t duplicates = 0;  // verified again with a sequence number already seen
  uint64_t pongs = 0;       // every Pong for one of our Pings, probes included
  uint64_t rtt_samples = 0;
  absl::Duration rtt_min;
  absl::Duration rtt_max;
  absl::Duration rtt_sum;
  // Longest interval between two consecutive verified data packets from the peer: with a paced
  // sender, an outage of the relay shows up here (tests of restarts read it).
  absl::Duration max_gap;
  bool timed_out = false;
  SessionStats session;

  // received == count, nothing corrupt, and the peer answered at least once.
  bool ok() const { return received == count && corrupt == 0 && pongs > 0; }
  // "sent=10 received=10 corrupt=0 rtt_min=81us rtt_avg=95us rtt_max=120us max_gap=1003us"
  std::string SummaryLine() const;
};

using LineSink = std::function<void(const std::string&)>;

// Emits, in order: the allocation line (FormatAllocation), "bound vni=<n> relay=<ip:port>
// local=<ip:port>", one "pong from <d:short> via <ip:port>:vni:<n> rtt=<us>us" per measured
// Pong, and the summary line. Errors (socket, allocation, first bind) return a status and
// emit only the lines printed before them.
absl::StatusOr<PeerRunResult> RunPeer(const PeerRunConfig& config, const LineSink& out);

}  // namespace dprelay::client
