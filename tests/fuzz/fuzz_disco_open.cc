// OpenDisco with a fixed shared key, on a bare wrapper and on a Geneve-framed payload, then
// ParseDisco on whatever opens. A box that opens must re-seal to the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"
#include "proto/key.h"

namespace dprelay {
namespace {

// shared(A, S) of the sealed handshake vectors: privates are 0x11 and 0x33 repeated (libsodium
// clamps), so the committed vector packets open and the fuzzer starts from valid boxes.
const SharedKey& FixedKey() {
  static const SharedKey key = [] {
    DiscoPrivateKey a;
    a.bytes.fill(0x11);
    DiscoPrivateKey s;
    s.bytes.fill(0x33);
    absl::StatusOr<SharedKey> k = ComputeSharedKey(KeyPairFromPrivate(s).pub, a);
    FUZZ_CHECK(k.ok());
    return *k;
  }();
  return key;
}

void TryOpen(std::span<const uint8_t> in) {
  const bool wrapper = LooksLikeDiscoWrapper(in);
  if (wrapper) {
    (void)DiscoWrapperSender(in);
  }
  absl::StatusOr<std::vector<uint8_t>> clear = OpenDisco(FixedKey(), in);
  if (!clear.ok()) {
    return;
  }
  FUZZ_CHECK(wrapper && clear->size() + kDiscoSealOverhead == in.size());
  DiscoNonce nonce;
  std::copy_n(in.begin() + kDiscoHeaderLen, nonce.size(), nonce.begin());
  std::vector<uint8_t> resealed = SealDisco(FixedKey(), DiscoWrapperSender(in), *clear, &nonce);
  FUZZ_CHECK(std::equal(resealed.begin(), resealed.end(), in.begin(), in.end()));
  (void)ParseDisco(*clear);
}

int FuzzOne(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  TryOpen(in);
  if (size >= kGeneveHeaderLen) {
    TryOpen(in.subspan(kGeneveHeaderLen));
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
