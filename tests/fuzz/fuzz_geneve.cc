// The relay's first look at a datagram: the STUN test and the Geneve header decode.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.h"
#include "proto/geneve.h"

namespace dprelay {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  const bool stun = LooksLikeStun(in);
  absl::StatusOr<GeneveHeader> h = DecodeGeneve(in);
  FUZZ_CHECK(h.ok() == (size >= kGeneveHeaderLen));
  FUZZ_CHECK(!stun || size >= 20);
  if (!h.ok()) {
    return 0;
  }
  FUZZ_CHECK(h->version <= 3 && h->vni <= kMaxVni);
  FUZZ_CHECK(!(stun && h->control));  // STUN's b[1] is 0x01, so the two never collide
  FUZZ_CHECK(h->control == GeneveIsControl(data) && h->protocol == GeneveProtocol(data) &&
             h->vni == GeneveVni(data));

  std::array<uint8_t, kGeneveHeaderLen> out;
  absl::Status s = EncodeGeneve(*h, out);
  FUZZ_CHECK(s.ok() == (h->vni != 0));
  if (!s.ok()) {
    return 0;
  }
  absl::StatusOr<GeneveHeader> back = DecodeGeneve(out);
  FUZZ_CHECK(back.ok() && back->version == h->version && back->control == h->control &&
             back->protocol == h->protocol && back->vni == h->vni);
  // The encoder leaves every bit the decoder ignores at zero.
  FUZZ_CHECK((out[0] & 0x3f) == 0 && (out[1] & 0x7f) == 0 && out[7] == 0);
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
