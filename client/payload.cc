#include "client/payload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "proto/wire.h"

namespace dprelay::client {
namespace {

// splitmix64: a tiny, well-mixed generator; any change of seq or key changes every byte.
uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Seed(uint64_t seq, const DiscoKey& sender) {
  uint64_t seed = seq;
  for (size_t i = 0; i < kKeyLen; i += 8) {
    seed = SplitMix(&seed) ^ LoadBe64(sender.bytes.data() + i);
  }
  return seed;
}

// Pattern byte generator shared by Fill and Verify.
class PatternStream {
 public:
  PatternStream(uint64_t seq, const DiscoKey& sender) : state_(Seed(seq, sender)) {}
  uint8_t Next() {
    if (left_ == 0) {
      word_ = SplitMix(&state_);
      left_ = 8;
    }
    --left_;
    uint8_t b = static_cast<uint8_t>(word_);
    word_ >>= 8;
    return b;
  }

 private:
  uint64_t state_;
  uint64_t word_ = 0;
  int left_ = 0;
};

}  // namespace

void FillPayload(uint64_t seq, const DiscoKey& sender, std::span<uint8_t> out) {
  if (out.size() < kPayloadSeqLen) {
    return;
  }
  StoreBe64(out.data(), seq);
  PatternStream stream(seq, sender);
  for (size_t i = kPayloadSeqLen; i < out.size(); ++i) {
    out[i] = stream.Next();
  }
}

std::vector<uint8_t> MakePayload(uint64_t seq, const DiscoKey& sender, size_t size) {
  std::vector<uint8_t> out(std::max(size, kPayloadSeqLen));
  FillPayload(seq, sender, out);
  return out;
}

absl::StatusOr<uint64_t> VerifyPayload(std::span<const uint8_t> payload, const DiscoKey& sender) {
  if (payload.size() < kPayloadSeqLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", payload.size(), " bytes is shorter than its sequence number"));
  }
  const uint64_t seq = LoadBe64(payload.data());
  PatternStream stream(seq, sender);
  for (size_t i = kPayloadSeqLen; i < payload.size(); ++i) {
    if (payload[i] != stream.Next()) {
      return absl::DataLossError(absl::StrCat("payload seq ", seq, " of ", payload.size(),
                                              " bytes differs at offset ", i));
    }
  }
  return seq;
}

std::vector<uint8_t> MakeRawPayload(uint64_t seq, size_t size) {
  std::string text = absl::StrCat("dprelay-raw seq=", seq, " ");
  text.resize(std::max({size, kPayloadSeqLen, text.size()}), '.');
  return std::vector<uint8_t>(text.begin(), text.end());
}

}  // namespace dprelay::client
