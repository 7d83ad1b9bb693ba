// The 8-byte fixed Geneve header as the peer-relay protocol uses it (PROTOCOL.md §2),
// and the STUN test the relay applies before Geneve decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/wire.h"

namespace dprelay {

inline constexpr size_t kGeneveHeaderLen = 8;
inline constexpr uint16_t kGeneveProtocolDisco = 0x7A11;
inline constexpr uint16_t kGeneveProtocolWireGuard = 0x7A12;
inline constexpr uint32_t kMaxVni = 0xFFFFFF;
inline constexpr uint8_t kGeneveControlBit = 0x80;

struct GeneveHeader {
  uint8_t version = 0;  // 0..3
  bool control = false;
  uint16_t protocol = 0;
  uint32_t vni = 0;  // 1..kMaxVni
};

// Refuses version > 3 and a VNI of 0 or above 24 bits. out must hold 8 bytes.
absl::Status EncodeGeneve(const GeneveHeader& h, std::span<uint8_t> out);
// Reads version, control bit, protocol and VNI; ignores every other bit (as the reference).
absl::StatusOr<GeneveHeader> DecodeGeneve(std::span<const uint8_t> in);

// Fast-path accessors; the caller has checked len >= kGeneveHeaderLen.
inline bool GeneveIsControl(const uint8_t* p) { return (p[1] & kGeneveControlBit) != 0; }
inline uint16_t GeneveProtocol(const uint8_t* p) { return static_cast<uint16_t>(p[2] << 8 | p[3]); }
inline uint32_t GeneveVni(const uint8_t* p) {
  return LoadBe32(p + 4) >> 8;  // bytes 4..6, in one 32-bit big-endian load
}

// STUN as the reference relay recognises it: len >= 20, top two bits of b[0] zero,
// b[1] == 0x01 and the magic cookie 21 12 a4 42 at offset 4.
bool LooksLikeStun(std::span<const uint8_t> in);

}  // namespace dprelay
