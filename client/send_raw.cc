#include "client/send_raw.h"

#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/payload.h"
#include "client/udp_socket.h"
#include "proto/geneve.h"

namespace dprelay::client {

absl::StatusOr<uint64_t> SendRaw(const SendRawConfig& config) {
  if (config.vni == 0 || config.vni > kMaxVni) {
    return absl::InvalidArgumentError(
        absl::StrCat("VNI ", config.vni, " is out of range 1..", kMaxVni));
  }
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(config.local);
  if (!socket.ok()) {
    return socket.status();
  }
  if (!socket->CanReach(config.relay)) {
    return absl::InvalidArgumentError(absl::StrCat("relay address ", FormatAddrPort(config.relay),
                                                   " is not reachable from local socket ",
                                                   FormatAddrPort(socket->local())));
  }
  std::array<uint8_t, kGeneveHeaderLen> header{};
  GeneveHeader geneve{
      .version = 0, .control = false, .protocol = kGeneveProtocolWireGuard, .vni = config.vni};
  if (absl::Status s = EncodeGeneve(geneve, header); !s.ok()) {
    return s;
  }

  uint64_t sent = 0;
  absl::Status last_error;
  for (uint64_t seq = 0; seq < config.count; ++seq) {
    if (seq > 0 && config.interval > absl::ZeroDuration()) {
      absl::SleepFor(config.interval);
    }
    std::vector<uint8_t> pkt(header.begin(), header.end());
    const std::vector<uint8_t> payload = MakeRawPayload(seq, config.size);
    pkt.insert(pkt.end(), payload.begin(), payload.end());
    absl::Status s = socket->SendTo(config.relay, pkt);
    if (s.ok()) {
      ++sent;
    } else {
      last_error = s;
    }
  }
  if (sent == 0 && !last_error.ok()) {
    return last_error;
  }
  return sent;
}

}  // namespace dprelay::client
