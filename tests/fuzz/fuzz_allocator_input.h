// The input format of fuzz_allocator, shared with gen_corpus.cc (which writes its seeds).
//
// An input is a sequence of records, each one datagram for Allocator::Handle:
//   op (1 byte) | len (1 byte) | body (len bytes; a short last record takes what is left)
// The op says how the body becomes a datagram, so that the fuzzer reaches past the box (it
// cannot forge a MAC) and through every gate, with keys fixed here so seeds stay valid.
#pragma once

#include <array>
#include <cstdint>

#include "proto/key.h"

namespace dprelay::fuzz_allocator {

// Bits of the op byte.
inline constexpr uint8_t kSealMask = 0x03;    // 0: body is the datagram; 1-3: body is a
                                              // cleartext sealed to control by kSealers[n-1]
inline constexpr uint8_t kSourceMask = 0x0c;  // >> 2: index into the target's sources
inline constexpr uint8_t kSourceShift = 2;
inline constexpr uint8_t kTick = 0x10;      // advance the clock by one second first
inline constexpr uint8_t kRepeat = 0x20;    // send the previous datagram again (body unused)
inline constexpr uint8_t kNoAddrs = 0x40;   // nothing to advertise (dataplane away)
inline constexpr uint8_t kTemplate = 0x80;  // cleartext is a request built from the body:
                                            // key index, key index, generation (4 bytes)

// Private keys: 0 control, 1 server disco, then clients. Clients 2, 3, 5 and 6 are allowed
// (5 only with 2 as its peer), 4 is not in the policy.
inline DiscoKeyPair FuzzKey(uint8_t index) {
  // The index goes in byte 1: X25519 clamps away the low three bits of byte 0.
  return KeyPairFromPrivate(DiscoPrivateKey{{0x10, static_cast<uint8_t>(index + 1)}});
}
inline constexpr uint8_t kControl = 0;
inline constexpr uint8_t kServer = 1;
// Who seals for kSealMask values 1, 2, 3: two allowed clients and a stranger.
inline constexpr std::array<uint8_t, 3> kSealers = {2, 3, 4};

}  // namespace dprelay::fuzz_allocator
