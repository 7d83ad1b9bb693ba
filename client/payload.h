// Self-checking data payloads: an 8-byte big-endian sequence number followed by pattern
// bytes derived from that number and the sender's public key, so a receiver that knows the
// sender can verify every byte (and that the packet came from that sender's stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/key.h"

namespace dprelay::client {

inline constexpr size_t kPayloadSeqLen = 8;
// The largest UDP payload over IPv4 (65535 - 20 - 8) minus the Geneve header.
inline constexpr size_t kMaxPayloadLen = 65507 - 8;

// Fills `out` (at least kPayloadSeqLen bytes) with the payload for `seq` from `sender`.
void FillPayload(uint64_t seq, const DiscoKey& sender, std::span<uint8_t> out);
std::vector<uint8_t> MakePayload(uint64_t seq, const DiscoKey& sender, size_t size);

// Returns the sequence number if every byte matches; otherwise an error saying why
// (too short, or the first differing offset).
absl::StatusOr<uint64_t> VerifyPayload(std::span<const uint8_t> payload, const DiscoKey& sender);

// The payload `send-raw` sends: ASCII "dprelay-raw seq=<n> " padded with '.', at least
// kPayloadSeqLen bytes, so it can never verify as a pattern payload and is easy to spot
// in a capture.
std::vector<uint8_t> MakeRawPayload(uint64_t seq, size_t size);

}  // namespace dprelay::client
