#include "client/peer_run.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/allocate.h"
#include "client/payload.h"
#include "client/udp_socket.h"
#include "proto/log.h"

namespace dprelay::client {
namespace {

using Clock = std::chrono::steady_clock;

// At most this many paced packets are sent back to back after a stall (a slow print, a
// rebind); beyond it the schedule restarts from now instead of bursting.
constexpr uint64_t kMaxCatchUpBurst = 64;
// Corrupt payloads logged individually before going quiet (they are all counted).
constexpr uint64_t kMaxCorruptLogs = 5;
// Events handled per wake-up before the send schedule is looked at again.
constexpr int kMaxEventsPerWake = 256;

Clock::duration ToClock(absl::Duration d) {
  return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
}

absl::Duration FromClock(Clock::duration d) {
  return absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}

enum class Phase { kProbe, kMeasure, kData, kLinger };

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kProbe:
      return "waiting for the peer's first pong";
    case Phase::kMeasure:
      return "measuring pings";
    case Phase::kData:
      return "exchanging data";
    case Phase::kLinger:
      return "lingering";
  }
  return "?";
}

// Tracks which of the peer's sequence numbers have arrived.
class SeqTracker {
 public:
  explicit SeqTracker(uint64_t expected) : seen_(expected, false) {}
  // True the first time `seq` is seen.
  bool Add(uint64_t seq) {
    if (seq < seen_.size()) {
      if (seen_[seq]) {
        return false;
      }
      seen_[seq] = true;
      return true;
    }
    return extra_.insert(seq).second;
  }

 private:
  std::vector<bool> seen_;
  std::set<uint64_t> extra_;  // beyond what we expect: a peer run with a larger --count
};

}  // namespace

std::string PeerRunResult::SummaryLine() const {
  const int64_t avg_us =
      rtt_samples == 0 ? 0 : absl::ToInt64Microseconds(rtt_sum / static_cast<int64_t>(rtt_samples));
  return absl::StrCat("sent=", sent, " received=", received, " corrupt=", corrupt,
                      " rtt_min=", absl::ToInt64Microseconds(rtt_min), "us rtt_avg=", avg_us,
                      "us rtt_max=", absl::ToInt64Microseconds(rtt_max),
                      "us max_gap=", absl::ToInt64Microseconds(max_gap), "us");
}

absl::StatusOr<PeerRunResult> RunPeer(const PeerRunConfig& config, const LineSink& out) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + ToClock(config.timeout);
  // Whole milliseconds, so that a timeout capped by it reads well in an error message.
  auto remaining = [&]() {
    return absl::Trunc(std::max(FromClock(deadline - Clock::now()), absl::ZeroDuration()),
                       absl::Milliseconds(1));
  };

  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(config.local);
  if (!socket.ok()) {
    return socket.status();
  }

  AllocateConfig alloc;
  alloc.self = config.self;
  alloc.peer = config.peer;
  alloc.control = config.control;
  alloc.control_key = config.control_key;
  alloc.timeout = std::min(config.allocate_timeout, config.timeout);
  alloc.resend_after = config.allocate_resend;
  AllocateStats alloc_stats;
  absl::StatusOr<UdpRelayEndpoint> endpoint = Allocate(alloc, *socket, &alloc_stats);
  if (!endpoint.ok()) {
    return endpoint.status();
  }
  out(FormatAllocation(*endpoint));

  RelaySessionConfig session_config;
  session_config.self = config.self;
  session_config.peer = config.peer;
  session_config.endpoint = *endpoint;
  session_config.bind_timeout = std::min(config.bind_timeout, remaining());
  session_config.bind_resend = config.bind_resend;
  absl::StatusOr<std::unique_ptr<RelaySession>> created =
      RelaySession::Create(std::move(session_config), *std::move(socket));
  if (!created.ok()) {
    return created.status();
  }
  RelaySession& session = **created;
  if (absl::Status s = session.Bind(); !s.ok()) {
    return s;
  }
  out(absl::StrCat(
      "bound vni=", session.vni(), " relay=", FormatAddrPort(session.relay_addr()),
      " local=", FormatAddrPort(session.socket().LocalAddrToward(session.relay_addr()))));

  PeerRunResult result;
  result.count = config.count;
  const std::string peer_short = ShortDisco(config.peer);
  const size_t size = std::max(config.size, kPayloadSeqLen);
  const Clock::duration ping_interval = ToClock(config.ping_interval);
  const Clock::duration send_interval =
      config.packets_per_second > 0
          ? std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(1.0 / config.packets_per_second))
          : Clock::duration::zero();

  Phase phase = Phase::kProbe;
  Clock::time_point next_ping = Clock::now();
  Clock::time_point last_bind = Clock::now();
  std::set<TxId> measured;  // outstanding measured pings
  int measured_sent = 0;
  Clock::time_point measure_end = Clock::time_point::max();
  absl::Duration probe_rtt = absl::InfiniteDuration();
  uint64_t next_seq = 0;
  Clock::time_point next_send = Clock::time_point::max();
  Clock::time_point linger_until = Clock::time_point::max();
  std::vector<uint8_t> payload(size);
  SeqTracker tracker(config.count);
  Clock::time_point last_data = Clock::time_point::min();

  auto record_rtt = [&](absl::Duration rtt) {
    if (result.rtt_samples == 0 || rtt < result.rtt_min) {
      result.rtt_min = rtt;
    }
    if (result.rtt_samples == 0 || rtt > result.rtt_max) {
      result.rtt_max = rtt;
    }
    result.rtt_sum += rtt;
    ++result.rtt_samples;
  };
  auto start_data = [&](Clock::time_point now) {
    phase = Phase::kData;
    next_send = now;
  };
  auto start_measure = [&](Clock::time_point now) {
    if (config.pings <= 0) {
      start_data(now);
      return;
    }
    phase = Phase::kMeasure;
    next_ping = now;
  };

  auto handle_event = [&](const SessionEvent& event) {
    switch (event.kind) {
      case SessionEvent::Kind::kNone:
      case SessionEvent::Kind::kBound:  // run binds with the blocking Bind()
        break;
      case SessionEvent::Kind::kPong: {
        ++result.pongs;
        auto it = measured.find(event.tx_id);
        if (it != measured.end()) {
          measured.erase(it);
          record_rtt(event.rtt);
          out(absl::StrCat("pong from ", peer_short, " via ", FormatAddrPort(event.via), ":vni:",
                           session.vni(), " rtt=", absl::ToInt64Microseconds(event.rtt), "us"));
        } else {
          probe_rtt = std::min(probe_rtt, event.rtt);
        }
        if (phase == Phase::kProbe) {
          start_measure(Clock::now());
        }
        break;
      }
      case SessionEvent::Kind::kData: {
        absl::StatusOr<uint64_t> seq = VerifyPayload(event.data, config.peer);
        if (!seq.ok()) {
          if (result.corrupt++ < kMaxCorruptLogs) {
            DPRELAY_LOG_WARNING("corrupt data from %s: %s", FormatAddrPort(event.via),
                                seq.status().message());
          }
        } else if (tracker.Add(*seq)) {
          ++result.received;
          const Clock::time_point arrived = Clock::now();
          if (last_data != Clock::time_point::min()) {
            result.max_gap = std::max(result.max_gap, FromClock(arrived - last_data));
          }
          last_data = arrived;
        } else {
          ++result.duplicates;
        }
        break;
      }
    }
  };

  while (true) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      result.timed_out = phase != Phase::kLinger;
      break;
    }
    Clock::time_point wake = deadline;
    switch (phase) {
      case Phase::kProbe:
        if (now - last_bind >= ToClock(config.rebind_interval)) {
          DPRELAY_LOG_INFO("no pong from %s yet; running the handshake again", peer_short);
          if (absl::Status s = session.Rebind(remaining()); !s.ok()) {
            DPRELAY_LOG_WARNING("rebind: %s", s.message());
          }
          last_bind = now = Clock::now();
        }
        if (now >= next_ping) {
          // A failed send is counted in the session stats; the next probe retries.
          (void)session.SendPing();
          next_ping = now + ping_interval;
        }
        wake = std::min(wake, next_ping);
        break;
      case Phase::kMeasure:
        if (measured_sent < config.pings && now >= next_ping) {
          absl::StatusOr<TxId> tx = session.SendPing();
          if (tx.ok()) {
            measured.insert(*tx);
          }
          ++measured_sent;
          next_ping = now + ping_interval;
          if (measured_sent == config.pings) {
            measure_end = now + ToClock(config.pong_wait);
          }
        }
        if (measured_sent == config.pings && (measured.empty() || now >= measure_end)) {
          start_data(now);
          continue;
        }
        wake = std::min({wake, measured_sent < config.pings ? next_ping : measure_end});
        break;
      case Phase::kData: {
        uint64_t burst = 0;
        while (next_seq < config.count && now >= next_send && burst < kMaxCatchUpBurst) {
          FillPayload(next_seq, config.self.pub, payload);
          if (session.SendData(payload).ok()) {
            ++result.sent;
          }
          ++next_seq;
          ++burst;
          next_send += send_interval;
        }
        if (burst == kMaxCatchUpBurst && now >= next_send) {
          next_send = now;
        }
        if (next_seq >= config.count && result.received >= config.count) {
          phase = Phase::kLinger;
          linger_until = now + ToClock(config.linger);
          continue;
        }
        if (next_seq < config.count) {
          wake = std::min(wake, next_send);
        }
        break;
      }
      case Phase::kLinger:
        if (now >= linger_until) {
          break;
        }
        wake = std::min(wake, linger_until);
        break;
    }
    if (phase == Phase::kLinger && now >= linger_until) {
      break;
    }

    // Wait for the first event, then take whatever else is already queued without waiting,
    // so that receiving keeps up with unpaced sending.
    for (int i = 0; i < kMaxEventsPerWake; ++i) {
      absl::StatusOr<SessionEvent> event =
          session.Receive(i == 0 ? FromClock(std::max(wake - Clock::now(), Clock::duration::zero()))
                                 : absl::ZeroDuration());
      if (!event.ok()) {
        return event.status();
      }
      if (event->kind == SessionEvent::Kind::kNone) {
        break;
      }
      handle_event(*event);
    }
  }

  // Without measured pings (--pings=0, or all lost) the probe's RTT stands in.
  if (result.rtt_samples == 0 && probe_rtt != absl::InfiniteDuration()) {
    record_rtt(probe_rtt);
  }
  result.session = session.stats();
  if (result.timed_out) {
    DPRELAY_LOG_WARNING("timed out after %s while %s (sent=%d/%d received=%d/%d)",
                        absl::FormatDuration(config.timeout), PhaseName(phase), result.sent,
                        config.count, result.received, config.count);
  }
  DPRELAY_LOG_INFO("session %s duplicates=%d allocation_requests=%d", result.session.Format(),
                   result.duplicates, alloc_stats.requests_sent);
  out(result.SummaryLine());
  return result;
}

}  // namespace dprelay::client
