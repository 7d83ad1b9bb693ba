// Text forms from config files and flags: addresses and keys. What parses must format back to
// text that parses to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (absl::StatusOr<AddrPort> ap = ParseAddrPort(text); ap.ok()) {
    absl::StatusOr<AddrPort> back = ParseAddrPort(FormatAddrPort(*ap));
    FUZZ_CHECK(back.ok() && *back == *ap);
  }
  if (absl::StatusOr<IpAddr> ip = ParseIp(text); ip.ok()) {
    absl::StatusOr<IpAddr> back = ParseIp(FormatIp(*ip));
    FUZZ_CHECK(back.ok() && *back == *ip);
  }
  if (absl::StatusOr<DiscoKey> key = ParseDiscoKey(text); key.ok()) {
    absl::StatusOr<DiscoKey> back = ParseDiscoKey(FormatDiscoKey(*key));
    FUZZ_CHECK(back.ok() && *back == *key);
    (void)ValidatePeerKey(*key);
  }
  if (absl::StatusOr<DiscoPrivateKey> priv = ParsePrivateKey(text); priv.ok()) {
    absl::StatusOr<DiscoPrivateKey> back = ParsePrivateKey(FormatPrivateKey(*priv));
    FUZZ_CHECK(back.ok() && back->bytes == priv->bytes);
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
