#include "proto/disco_box.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "proto/sodium_init.h"

namespace dprelay {

static_assert(crypto_box_BEFORENMBYTES == sizeof(SharedKey::bytes));
static_assert(crypto_box_NONCEBYTES == kDiscoNonceLen);
static_assert(crypto_box_MACBYTES == kDiscoTagLen);
static_assert(kDiscoWrapperMinLen == 62 && kDiscoSealOverhead == 78, "PROTOCOL.md §3 layout");

namespace {
// Offsets inside a wrapper (PROTOCOL.md §3).
constexpr size_t kSenderOffset = kDiscoMagic.size();
constexpr size_t kNonceOffset = kDiscoHeaderLen;
constexpr size_t kBoxOffset = kDiscoHeaderLen + kDiscoNonceLen;
}  // namespace

absl::StatusOr<SharedKey> ComputeSharedKey(const DiscoKey& peer_pub,
                                           const DiscoPrivateKey& own_priv) {
  if (peer_pub.is_zero()) {
    return absl::InvalidArgumentError("shared key: peer public key is all zero");
  }
  internal::EnsureSodiumInit();
  SharedKey shared;
  if (crypto_box_beforenm(shared.bytes.data(), peer_pub.bytes.data(), own_priv.bytes.data()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("shared key: peer public key ",
                                                   FormatDiscoKey(peer_pub),
                                                   " is a low-order Curve25519 point"));
  }
  return shared;
}

bool LooksLikeDiscoWrapper(std::span<const uint8_t> in) {
  return in.size() >= kDiscoWrapperMinLen &&
         std::equal(kDiscoMagic.begin(), kDiscoMagic.end(), in.begin());
}

DiscoKey DiscoWrapperSender(std::span<const uint8_t> in) {
  DiscoKey key;
  if (in.size() >= kDiscoHeaderLen) {
    std::memcpy(key.bytes.data(), in.data() + kSenderOffset, kKeyLen);
  }
  return key;
}

DiscoNonce DiscoWrapperNonce(std::span<const uint8_t> in) {
  DiscoNonce nonce{};
  if (in.size() >= kDiscoWrapperMinLen) {
    std::memcpy(nonce.data(), in.data() + kNonceOffset, kDiscoNonceLen);
  }
  return nonce;
}

size_t SealDisco(const SharedKey& shared, const DiscoKey& sender, std::span<const uint8_t> clear,
                 std::span<uint8_t> out, const DiscoNonce* nonce) {
  const size_t total = SealedDiscoLen(clear.size());
  if (out.size() < total) {
    return 0;
  }
  internal::EnsureSodiumInit();
  uint8_t* p = out.data();
  std::memcpy(p, kDiscoMagic.data(), kDiscoMagic.size());
  std::memcpy(p + kSenderOffset, sender.bytes.data(), kKeyLen);
  if (nonce != nullptr) {
    std::memcpy(p + kNonceOffset, nonce->data(), kDiscoNonceLen);
  } else {
    randombytes_buf(p + kNonceOffset, kDiscoNonceLen);
  }
  // Writes tag || ciphertext. Cannot fail for lengths below crypto_box_MESSAGEBYTES_MAX, and a
  // span of that size does not fit in memory next to its output.
  // libsodium wants a real pointer even for an empty message.
  static constexpr uint8_t kEmpty = 0;
  const uint8_t* src = clear.empty() ? &kEmpty : clear.data();
  if (crypto_box_easy_afternm(p + kBoxOffset, src, clear.size(), p + kNonceOffset,
                              shared.bytes.data()) != 0) {
    return 0;
  }
  return total;
}

std::vector<uint8_t> SealDisco(const SharedKey& shared, const DiscoKey& sender,
                               std::span<const uint8_t> clear, const DiscoNonce* nonce) {
  std::vector<uint8_t> out(SealedDiscoLen(clear.size()));
  out.resize(SealDisco(shared, sender, clear, out, nonce));
  return out;
}

absl::StatusOr<size_t> OpenDisco(const SharedKey& shared, std::span<const uint8_t> in,
                                 std::span<uint8_t> clear_out) {
  if (!LooksLikeDiscoWrapper(in)) {
    return absl::InvalidArgumentError(absl::StrCat("disco box: not a disco wrapper (", in.size(),
                                                   " bytes; need at least ", kDiscoWrapperMinLen,
                                                   " starting with the disco magic)"));
  }
  if (in.size() < kDiscoSealOverhead) {
    return absl::InvalidArgumentError(absl::StrCat("disco box: ", in.size(),
                                                   " bytes is too short for a sealed box, need ",
                                                   kDiscoSealOverhead));
  }
  const size_t clear_len = in.size() - kDiscoSealOverhead;
  if (clear_out.size() < clear_len) {
    return absl::InvalidArgumentError(absl::StrCat("disco box: output buffer holds ",
                                                   clear_out.size(), " bytes, need ", clear_len));
  }
  internal::EnsureSodiumInit();
  uint8_t empty = 0;  // libsodium wants a real pointer even for an empty message
  uint8_t* dst = clear_len == 0 ? &empty : clear_out.data();
  if (crypto_box_open_easy_afternm(dst, in.data() + kBoxOffset, in.size() - kBoxOffset,
                                   in.data() + kNonceOffset, shared.bytes.data()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("disco box: authentication failed for message from ",
                     FormatDiscoKey(DiscoWrapperSender(in))));
  }
  return clear_len;
}

absl::StatusOr<std::vector<uint8_t>> OpenDisco(const SharedKey& shared,
                                               std::span<const uint8_t> in) {
  std::vector<uint8_t> clear(in.size() >= kDiscoSealOverhead ? in.size() - kDiscoSealOverhead : 0);
  absl::StatusOr<size_t> n = OpenDisco(shared, in, clear);
  if (!n.ok()) {
    return n.status();
  }
  clear.resize(*n);
  return clear;
}

}  // namespace dprelay
