#include "proto/geneve.h"

#include "absl/strings/str_cat.h"
#include "proto/wire.h"

namespace dprelay {

absl::Status EncodeGeneve(const GeneveHeader& h, std::span<uint8_t> out) {
  if (out.size() < kGeneveHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat("geneve: output buffer holds ", out.size(),
                                                   " bytes, need ", kGeneveHeaderLen));
  }
  if (h.version > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("geneve: version ", h.version, " does not fit in 2 bits"));
  }
  if (h.vni == 0 || h.vni > kMaxVni) {
    return absl::InvalidArgumentError(absl::StrCat("geneve: VNI ", h.vni, " outside 1..", kMaxVni));
  }
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(h.version << 6);  // Opt Len 0: options are not supported
  p[1] = h.control ? kGeneveControlBit : 0;
  StoreBe16(p + 2, h.protocol);
  StoreBe32(p + 4, h.vni << 8);  // byte 7 reserved, zero
  return absl::OkStatus();
}

absl::StatusOr<GeneveHeader> DecodeGeneve(std::span<const uint8_t> in) {
  if (in.size() < kGeneveHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat("geneve: packet of ", in.size(),
                                                   " bytes is shorter than the ", kGeneveHeaderLen,
                                                   "-byte header"));
  }
  const uint8_t* p = in.data();
  GeneveHeader h;
  h.version = static_cast<uint8_t>(p[0] >> 6);
  h.control = GeneveIsControl(p);
  h.protocol = GeneveProtocol(p);
  h.vni = GeneveVni(p);
  return h;
}

bool LooksLikeStun(std::span<const uint8_t> in) {
  static constexpr uint8_t kMagicCookie[4] = {0x21, 0x12, 0xa4, 0x42};
  if (in.size() < 20) {
    return false;
  }
  const uint8_t* p = in.data();
  return (p[0] & 0xC0) == 0 && p[1] == 0x01 && p[4] == kMagicCookie[0] && p[5] == kMagicCookie[1] &&
         p[6] == kMagicCookie[2] && p[7] == kMagicCookie[3];
}

}  // namespace dprelay
