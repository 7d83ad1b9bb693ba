#include "client/allocate.h"

#include <sodium.h>

#include <array>
#include <chrono>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"

namespace dprelay::client {
namespace {

using Clock = std::chrono::steady_clock;

// Big enough for any UDP payload.
constexpr size_t kReceiveBufferLen = 65536;

uint32_t RandomGeneration() {
  uint32_t g = 0;
  while (g == 0) {
    g = randombytes_random();
  }
  return g;
}

absl::Duration Until(Clock::time_point t) {
  return absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(t - Clock::now()));
}

}  // namespace

std::string FormatDurationShort(absl::Duration d) { return absl::FormatDuration(d); }

absl::StatusOr<UdpRelayEndpoint> Allocate(const AllocateConfig& config, UdpSocket& socket,
                                          AllocateStats* stats) {
  AllocateStats local_stats;
  if (stats == nullptr) {
    stats = &local_stats;
  }
  const std::string control_name = FormatAddrPort(config.control);
  if (sodium_init() < 0) {
    return absl::InternalError("libsodium failed to initialise");
  }
  if (!socket.CanReach(config.control)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control address ", control_name, " is not reachable from local socket ",
                     FormatAddrPort(socket.local()), " (address family)"));
  }
  if (absl::Status s = ValidatePeerKey(config.peer); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("peer key: ", s.message()));
  }
  if (config.peer == config.self.pub) {
    return absl::InvalidArgumentError("peer key is this client's own key");
  }
  absl::StatusOr<SharedKey> shared = ComputeSharedKey(config.control_key, config.self.priv);
  if (!shared.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("control key: ", shared.status().message()));
  }

  AllocateUdpRelayEndpointRequest request;
  request.client_disco = SortedPair(config.self.pub, config.peer);
  request.generation = config.generation != 0 ? config.generation : RandomGeneration();
  const std::vector<uint8_t> clear_request = EncodeDisco(DiscoMessage(request));

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + absl::ToChronoNanoseconds(config.timeout);
  Clock::time_point resend_at = start + absl::ToChronoNanoseconds(config.resend_after);
  bool resent = false;
  absl::Status last_send_error;

  auto send = [&]() {
    // Sealed afresh (a new random nonce) every time: the relay answers each (sender, nonce)
    // once and refuses the same sealed bytes again as a replay.
    absl::Status s =
        socket.SendTo(config.control, SealDisco(*shared, config.self.pub, clear_request));
    ++stats->requests_sent;
    if (!s.ok()) {
      last_send_error = s;
    }
  };
  send();

  std::vector<uint8_t> buf(kReceiveBufferLen);
  std::vector<uint8_t> clear(kReceiveBufferLen);
  while (true) {
    if (config.stop != nullptr && config.stop->load(std::memory_order_relaxed)) {
      return absl::CancelledError(
          absl::StrCat("allocation from ", control_name, " cancelled: stop requested"));
    }
    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      break;
    }
    if (!resent && now >= resend_at) {
      send();
      resent = true;
    }
    Clock::time_point wake = resent ? deadline : std::min(deadline, resend_at);
    if (config.stop != nullptr) {
      wake = std::min(wake, now + absl::ToChronoNanoseconds(kAllocateStopCheck));
    }
    AddrPort from;
    absl::StatusOr<std::optional<size_t>> got = socket.ReceiveFrom(buf, &from, Until(wake));
    if (!got.ok()) {
      return got.status();
    }
    if (!got->has_value()) {
      continue;
    }
    std::span<const uint8_t> pkt(buf.data(), **got);
    if (from != config.control || !LooksLikeDiscoWrapper(pkt) ||
        DiscoWrapperSender(pkt) != config.control_key || pkt.size() < kDiscoSealOverhead) {
      ++stats->ignored;
      continue;
    }
    absl::StatusOr<size_t> clear_len = OpenDisco(*shared, pkt, clear);
    if (!clear_len.ok()) {
      ++stats->ignored;
      continue;
    }
    absl::StatusOr<DiscoMessage> msg =
        ParseDisco(std::span<const uint8_t>(clear.data(), *clear_len));
    if (!msg.ok()) {
      ++stats->ignored;
      continue;
    }
    auto* response = std::get_if<AllocateUdpRelayEndpointResponse>(&*msg);
    if (response == nullptr || response->generation != request.generation ||
        response->endpoint.client_disco != request.client_disco) {
      ++stats->ignored;
      continue;
    }
    const UdpRelayEndpoint& ep = response->endpoint;
    if (ep.vni == 0 || ep.vni > kMaxVni || ep.addr_ports.empty() ||
        !ValidatePeerKey(ep.server_disco).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allocation response from ", control_name, " is unusable (vni=", ep.vni, ", ",
          ep.addr_ports.size(), " addresses, server=", FormatDiscoKey(ep.server_disco), ")"));
    }
    return ep;
  }
  std::string detail;
  if (!last_send_error.ok()) {
    detail = absl::StrCat(" (", last_send_error.message(), ")");
  }
  return absl::DeadlineExceededError(absl::StrCat("no allocation response from ", control_name,
                                                  " after ", FormatDurationShort(config.timeout),
                                                  detail));
}

std::string FormatAllocation(const UdpRelayEndpoint& endpoint) {
  std::vector<std::string> addrs;
  addrs.reserve(endpoint.addr_ports.size());
  for (const AddrPort& ap : endpoint.addr_ports) {
    addrs.push_back(FormatAddrPort(ap));
  }
  return absl::StrCat(
      "allocation vni=", endpoint.vni, " lamport=", endpoint.lamport_id,
      " server=", FormatDiscoKey(endpoint.server_disco), " addrs=", absl::StrJoin(addrs, ","),
      " bind_lifetime=", FormatDurationShort(endpoint.bind_lifetime),
      " steady_state_lifetime=", FormatDurationShort(endpoint.steady_state_lifetime));
}

}  // namespace dprelay::client
