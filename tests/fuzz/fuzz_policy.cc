// The operator's policy file and the endpoint lists of --static_endpoints and dprelayctl: any
// text is accepted or refused with an error, never a crash; what parses formats back to text
// that parses to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/policy.h"
#include "control/source_addr.h"
#include "control/static_endpoints.h"
#include "fuzz_check.h"

namespace dprelay::control {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<Policy> policy = Policy::Parse(text, "fuzz"); policy.ok()) {
    FUZZ_CHECK(policy->capacity() == 0 || policy->capacity() >= 1);
    for (const AddrPort& ap : policy->static_endpoints()) {
      FUZZ_CHECK(ap.port != 0 && IsUsableSource(ap.ip));
    }
  } else {
    FUZZ_CHECK(policy.status().message().find("fuzz:") == 0);  // errors name file and line
  }
  if (absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(text); eps.ok()) {
    absl::StatusOr<std::vector<AddrPort>> back = ParseEndpointList(FormatEndpointList(*eps));
    FUZZ_CHECK(back.ok() && *back == *eps);
  }
  if (absl::StatusOr<IpPrefix> prefix = ParsePrefix(text); prefix.ok()) {
    absl::StatusOr<IpPrefix> back = ParsePrefix(FormatPrefix(*prefix));
    FUZZ_CHECK(back.ok() && *back == *prefix);
    FUZZ_CHECK(prefix->Contains(prefix->base));
  }
  return 0;
}

}  // namespace
}  // namespace dprelay::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::control::FuzzOne(data, size);
}
