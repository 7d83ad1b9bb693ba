// Messages between dprelay-control and dprelay-dataplane over a unix SOCK_SEQPACKET socket
// (DESIGN.md §5). One datagram = one message: header {version u16, type u16, body length u32}
// then the body, all big-endian. Decoding checks the version and every length.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/addr.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::ipc {

inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderLen = 8;
// Largest datagram either side sends or accepts; a stats reply is the biggest message.
inline constexpr size_t kMaxMessageLen = 64 * 1024;
// Longest string field (an install error, a counter name). Encode cuts longer strings to this
// length; Decode refuses longer ones.
inline constexpr size_t kMaxStringLen = 1024;

enum class Type : uint16_t {
  kHello = 1,           // dataplane -> control, first message after connect
  kInstallSession = 2,  // control -> dataplane
  kRemoveSession = 3,   // control -> dataplane
  kInstallResult = 4,   // dataplane -> control, one per install
  kLegBound = 5,        // dataplane -> control: a leg bound or moved
  kSessionExpired = 6,  // dataplane -> control: lifetime ran out, VNI freed
  kStatsRequest = 7,    // control -> dataplane
  kStatsReply = 8,      // dataplane -> control
};

// The dataplane's relay addresses (where clients send Binds and data) and table size.
struct Hello {
  std::vector<AddrPort> relay_addrs;
  uint32_t capacity = 0;  // largest VNI the session table can hold
};

struct InstallSession {
  uint32_t vni = 0;
  std::array<DiscoKey, 2> client_keys;  // sorted
  // crypto_box_beforenm(client_key[i], server disco private key): the dataplane never
  // sees a private key.
  std::array<SharedKey, 2> shared;
  DiscoKey server_key;  // public; the sender field of every Challenge
  int64_t bind_lifetime_ns = 0;
  int64_t steady_state_lifetime_ns = 0;
  // Legs already bound (control re-installing after a dataplane restart); invalid = unbound.
  std::array<AddrPort, 2> bound;
};

struct RemoveSession {
  uint32_t vni = 0;
};

struct InstallResult {
  uint32_t vni = 0;
  bool ok = false;
  std::string error;  // why, when !ok
};

struct LegBound {
  uint32_t vni = 0;
  uint8_t leg = 0;  // 0 or 1, index into the sorted client keys
  AddrPort addr;
};

struct SessionExpired {
  uint32_t vni = 0;
};

struct StatsRequest {};

struct StatsReply {
  std::vector<std::pair<std::string, uint64_t>> counters;
};

using Message = std::variant<Hello, InstallSession, RemoveSession, InstallResult, LegBound,
                             SessionExpired, StatsRequest, StatsReply>;

std::vector<uint8_t> Encode(const Message& msg);
absl::StatusOr<Message> Decode(std::span<const uint8_t> in);

}  // namespace dprelay::ipc
