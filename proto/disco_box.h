// The disco wrapper: magic | sender public key | nonce | NaCl box (PROTOCOL.md §3).
// Sealing and opening use a precomputed shared key (crypto_box_beforenm).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/key.h"

namespace dprelay {

inline constexpr std::array<uint8_t, 6> kDiscoMagic = {0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac};
inline constexpr size_t kDiscoNonceLen = 24;
inline constexpr size_t kDiscoTagLen = 16;
// magic(6) + sender key(32)
inline constexpr size_t kDiscoHeaderLen = 6 + kKeyLen;
// Smallest thing that can be a wrapper: header + nonce (LooksLikeDiscoWrapper).
inline constexpr size_t kDiscoWrapperMinLen = kDiscoHeaderLen + kDiscoNonceLen;
// Bytes a sealed message adds to its cleartext.
inline constexpr size_t kDiscoSealOverhead = kDiscoHeaderLen + kDiscoNonceLen + kDiscoTagLen;

using DiscoNonce = std::array<uint8_t, kDiscoNonceLen>;

struct SharedKey {
  std::array<uint8_t, 32> bytes{};
  bool operator==(const SharedKey&) const = default;
};

// crypto_box_beforenm(peer_pub, own_priv). Fails for zero or low-order peer keys.
absl::StatusOr<SharedKey> ComputeSharedKey(const DiscoKey& peer_pub,
                                           const DiscoPrivateKey& own_priv);

// len >= 62 and the magic.
bool LooksLikeDiscoWrapper(std::span<const uint8_t> in);
// The sender key field; the caller has checked LooksLikeDiscoWrapper.
DiscoKey DiscoWrapperSender(std::span<const uint8_t> in);
// The nonce field; the caller has checked LooksLikeDiscoWrapper.
DiscoNonce DiscoWrapperNonce(std::span<const uint8_t> in);

inline constexpr size_t SealedDiscoLen(size_t cleartext_len) {
  return cleartext_len + kDiscoSealOverhead;
}
// Writes magic | sender | nonce | tag+ciphertext into out (at least SealedDiscoLen bytes) and
// returns the bytes written. A random nonce is drawn unless one is given (tests, vectors).
size_t SealDisco(const SharedKey& shared, const DiscoKey& sender, std::span<const uint8_t> clear,
                 std::span<uint8_t> out, const DiscoNonce* nonce = nullptr);
std::vector<uint8_t> SealDisco(const SharedKey& shared, const DiscoKey& sender,
                               std::span<const uint8_t> clear, const DiscoNonce* nonce = nullptr);

// Opens a whole wrapper (magic checked) into clear_out, which must hold
// in.size() - kDiscoSealOverhead bytes; returns the cleartext length.
absl::StatusOr<size_t> OpenDisco(const SharedKey& shared, std::span<const uint8_t> in,
                                 std::span<uint8_t> clear_out);
absl::StatusOr<std::vector<uint8_t>> OpenDisco(const SharedKey& shared,
                                               std::span<const uint8_t> in);

}  // namespace dprelay
