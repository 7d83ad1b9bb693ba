// ParseDisco on arbitrary cleartext: never crashes, and whatever parses re-encodes to bytes
// that parse back to the same encoding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "fuzz_check.h"
#include "proto/disco.h"

namespace dprelay {
namespace {

// A relay endpoint with no addresses encodes but does not parse; only the version leniency of
// 0x07/0x09 produces one from the wire.
bool HasEmptyEndpoint(const DiscoMessage& m) {
  if (const auto* via = std::get_if<CallMeMaybeVia>(&m)) {
    return via->endpoint.addr_ports.empty();
  }
  if (const auto* resp = std::get_if<AllocateUdpRelayEndpointResponse>(&m)) {
    return resp->endpoint.addr_ports.empty();
  }
  return false;
}

int FuzzOne(const uint8_t* data, size_t size) {
  absl::StatusOr<DiscoMessage> msg = ParseDisco(std::span<const uint8_t>(data, size));
  if (!msg.ok()) {
    FUZZ_CHECK(!msg.status().message().empty());
    return 0;
  }
  std::vector<uint8_t> enc = EncodeDisco(*msg);
  absl::StatusOr<DiscoMessage> again = ParseDisco(enc);
  FUZZ_CHECK(again.ok() != HasEmptyEndpoint(*msg));
  if (again.ok()) {
    FUZZ_CHECK(again->index() == msg->index());
    FUZZ_CHECK(EncodeDisco(*again) == enc);
  }
  std::visit(
      [&](const auto& m) {
        if constexpr (std::is_base_of_v<BindCommon, std::decay_t<decltype(m)>>) {
          std::array<uint8_t, kBindMessageLen> out;
          EncodeBindMessage(static_cast<DiscoType>(data[0]), m, out);
          FUZZ_CHECK(std::vector<uint8_t>(out.begin(), out.end()) == enc);
        }
      },
      *msg);
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
