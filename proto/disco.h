// Inner (cleartext) disco messages, type | version | body, both ways (PROTOCOL.md §3),
// with the reference's parse leniency.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay {

enum class DiscoType : uint8_t {
  kPing = 0x01,
  kPong = 0x02,
  kCallMeMaybe = 0x03,
  kBindUdpRelayEndpoint = 0x04,
  kBindUdpRelayEndpointChallenge = 0x05,
  kBindUdpRelayEndpointAnswer = 0x06,
  kCallMeMaybeVia = 0x07,
  kAllocateUdpRelayEndpointRequest = 0x08,
  kAllocateUdpRelayEndpointResponse = 0x09,
};

inline constexpr size_t kTxIdLen = 12;
inline constexpr size_t kBindCommonLen = 72;
inline constexpr size_t kDiscoInnerHeaderLen = 2;  // type, version
// Cleartext size of Bind, Challenge and Answer (type + version + 72).
inline constexpr size_t kBindMessageLen = kDiscoInnerHeaderLen + kBindCommonLen;
inline constexpr size_t kUdpRelayEndpointFixedLen = 124;
inline constexpr size_t kAddrPortWireLen = 18;

using TxId = std::array<uint8_t, kTxIdLen>;
using Challenge = std::array<uint8_t, 32>;

struct Ping {
  TxId tx_id{};
  std::optional<DiscoKey> node_key;  // the sender's node key; same 32-byte shape
  size_t padding = 0;                // zero bytes after the body
};

struct Pong {
  TxId tx_id{};
  AddrPort src;
};

struct CallMeMaybe {
  std::vector<AddrPort> my_numbers;
};

struct BindCommon {
  uint32_t vni = 0;
  uint32_t generation = 0;
  DiscoKey remote_key;  // the other client's disco key
  Challenge challenge{};
};

struct BindUdpRelayEndpoint : BindCommon {};
struct BindUdpRelayEndpointChallenge : BindCommon {};
struct BindUdpRelayEndpointAnswer : BindCommon {};

struct UdpRelayEndpoint {
  DiscoKey server_disco;
  std::array<DiscoKey, 2> client_disco;  // sorted ascending
  uint64_t lamport_id = 0;
  uint32_t vni = 0;
  absl::Duration bind_lifetime;
  absl::Duration steady_state_lifetime;
  std::vector<AddrPort> addr_ports;
};

struct CallMeMaybeVia {
  UdpRelayEndpoint endpoint;
};

struct AllocateUdpRelayEndpointRequest {
  std::array<DiscoKey, 2> client_disco;
  uint32_t generation = 0;
};

struct AllocateUdpRelayEndpointResponse {
  uint32_t generation = 0;
  UdpRelayEndpoint endpoint;
};

using DiscoMessage =
    std::variant<Ping, Pong, CallMeMaybe, BindUdpRelayEndpoint, BindUdpRelayEndpointChallenge,
                 BindUdpRelayEndpointAnswer, CallMeMaybeVia, AllocateUdpRelayEndpointRequest,
                 AllocateUdpRelayEndpointResponse>;

// type | version 0 | body. Encoding a UdpRelayEndpoint with no AddrPorts is allowed
// (the decoder refuses it, as the reference does).
std::vector<uint8_t> EncodeDisco(const DiscoMessage& msg);
// Errors on unknown type, short bodies and bad endpoint lengths; lenient exactly where
// the reference is (see PROTOCOL.md §3 "Parse leniency").
absl::StatusOr<DiscoMessage> ParseDisco(std::span<const uint8_t> in);

// Fixed-size Bind/Challenge/Answer encoding into a caller buffer of kBindMessageLen bytes,
// for the dataplane's handshake (no allocation).
void EncodeBindMessage(DiscoType type, const BindCommon& m,
                       std::span<uint8_t, kBindMessageLen> out);

}  // namespace dprelay
