#include "proto/key.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "proto/sodium_init.h"

namespace dprelay {
namespace {

// Debian's Abseil has its own string_view, distinct from std::string_view.
constexpr absl::string_view kDiscoKeyPrefix = "discokey:";
constexpr absl::string_view kPrivateKeyPrefix = "privkey:";

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return s;
}

// Parses prefix + 64 hex digits. `what` names the key kind in errors. The digits are never
// echoed back: for a private key they are the secret.
absl::Status ParseKeyText(absl::string_view what, absl::string_view prefix,
                          std::string_view std_text, std::array<uint8_t, kKeyLen>* out) {
  absl::string_view text(std_text.data(), std_text.size());
  if (text.substr(0, prefix.size()) != prefix) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": missing '", prefix, "' prefix"));
  }
  absl::string_view hex = text.substr(prefix.size());
  if (hex.size() != 2 * kKeyLen) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": expected ", 2 * kKeyLen, " hex digits after '", prefix, "', got ", hex.size()));
  }
  for (size_t i = 0; i < kKeyLen; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? 2 * i : 2 * i + 1;
      return absl::InvalidArgumentError(absl::StrCat(what, ": non-hex character at position ",
                                                     prefix.size() + bad, " after '", prefix, "'"));
    }
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return absl::OkStatus();
}

}  // namespace

bool DiscoKey::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

absl::StatusOr<DiscoKey> ParseDiscoKey(std::string_view text) {
  DiscoKey key;
  absl::Status s = ParseKeyText("disco key", kDiscoKeyPrefix, text, &key.bytes);
  if (!s.ok()) {
    return s;
  }
  return key;
}

absl::StatusOr<DiscoPrivateKey> ParsePrivateKey(std::string_view text) {
  DiscoPrivateKey key;
  absl::Status s = ParseKeyText("private key", kPrivateKeyPrefix, text, &key.bytes);
  if (!s.ok()) {
    return s;
  }
  return key;
}

std::string FormatDiscoKey(const DiscoKey& key) {
  return absl::StrCat(kDiscoKeyPrefix, Hex(key.bytes.data(), key.bytes.size()));
}

std::string FormatPrivateKey(const DiscoPrivateKey& key) {
  return absl::StrCat(kPrivateKeyPrefix, Hex(key.bytes.data(), key.bytes.size()));
}

std::string ShortDisco(const DiscoKey& key) { return absl::StrCat("d:", Hex(key.bytes.data(), 8)); }

DiscoKeyPair GenerateKeyPair() {
  internal::EnsureSodiumInit();
  DiscoKeyPair kp;
  static_assert(crypto_box_PUBLICKEYBYTES == kKeyLen && crypto_box_SECRETKEYBYTES == kKeyLen);
  crypto_box_keypair(kp.pub.bytes.data(), kp.priv.bytes.data());
  return kp;
}

DiscoKeyPair KeyPairFromPrivate(const DiscoPrivateKey& priv) {
  internal::EnsureSodiumInit();
  DiscoKeyPair kp;
  kp.priv = priv;
  static_assert(crypto_scalarmult_BYTES == kKeyLen && crypto_scalarmult_SCALARBYTES == kKeyLen);
  // Clamping makes the scalar a nonzero multiple of 8 below the group order, so the result is
  // never the identity and the call cannot fail; if it ever did, the zero public key left
  // behind is refused by ValidatePeerKey everywhere it matters.
  if (crypto_scalarmult_base(kp.pub.bytes.data(), priv.bytes.data()) != 0) {
    kp.pub = DiscoKey{};
  }
  return kp;
}

absl::Status ValidatePeerKey(const DiscoKey& key) {
  if (key.is_zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer key ", FormatDiscoKey(key), " is all zero"));
  }
  internal::EnsureSodiumInit();
  // crypto_scalarmult refuses (returns -1) points of small order, which would make every
  // shared secret with this peer predictable. Any nonzero scalar works for the probe.
  static constexpr std::array<uint8_t, kKeyLen> kProbeScalar = {
      0x09, 0x42, 0x13, 0x37, 0x55, 0xaa, 0x01, 0x02, 0x03, 0x04, 0x05,
      0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
      0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x40};
  uint8_t out[crypto_scalarmult_BYTES];
  int rc = crypto_scalarmult(out, kProbeScalar.data(), key.bytes.data());
  sodium_memzero(out, sizeof(out));
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer key ", FormatDiscoKey(key), " is a low-order Curve25519 point"));
  }
  return absl::OkStatus();
}

std::array<DiscoKey, 2> SortedPair(const DiscoKey& a, const DiscoKey& b) {
  if (b < a) {
    return {b, a};
  }
  return {a, b};
}

}  // namespace dprelay
