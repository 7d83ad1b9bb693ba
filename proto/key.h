// X25519 disco keys: the public key type with its "discokey:<hex>" text form,
// key pairs, and the validity rules a relay applies to keys it is handed.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dprelay {

inline constexpr size_t kKeyLen = 32;

struct DiscoKey {
  std::array<uint8_t, kKeyLen> bytes{};

  bool is_zero() const;
  auto operator<=>(const DiscoKey&) const = default;
};

struct DiscoPrivateKey {
  std::array<uint8_t, kKeyLen> bytes{};
};

struct DiscoKeyPair {
  DiscoKey pub;
  DiscoPrivateKey priv;
};

// "discokey:" followed by 64 lowercase or uppercase hex digits.
absl::StatusOr<DiscoKey> ParseDiscoKey(std::string_view text);
// "privkey:" followed by 64 hex digits (file form of a private key).
absl::StatusOr<DiscoPrivateKey> ParsePrivateKey(std::string_view text);
std::string FormatDiscoKey(const DiscoKey& key);
std::string FormatPrivateKey(const DiscoPrivateKey& key);
// "d:" + hex of the first 8 bytes, as the reference relay's session listing shows keys.
std::string ShortDisco(const DiscoKey& key);

DiscoKeyPair GenerateKeyPair();
DiscoKeyPair KeyPairFromPrivate(const DiscoPrivateKey& priv);

// A peer key is usable if it is not all zero and not a low-order Curve25519 point
// (libsodium refuses to compute a shared key with those). Error names the key.
absl::Status ValidatePeerKey(const DiscoKey& key);

// The unordered pair of two client keys, sorted bytewise (smaller first).
std::array<DiscoKey, 2> SortedPair(const DiscoKey& a, const DiscoKey& b);

}  // namespace dprelay
