// The portable fast-path header test compiled on its own (on x86 the SSE2 one is the one in
// use), under another name so that one test binary can hold both.
#define FastMatch ScalarFastMatch
#define HeaderRegs ScalarHeaderRegs
#include "dataplane/fast_match_scalar.h"
#undef FastMatch
#undef HeaderRegs

namespace dprelay::testing {

bool ScalarMatches(uint32_t local_ip_be, uint16_t relay_port_be, const uint8_t* p, uint32_t len) {
  return ScalarFastMatch(local_ip_be, relay_port_be).Matches(p, len);
}

void ScalarCopy(const uint8_t* src, uint8_t* dst) { ScalarHeaderRegs::Load(src).Store(dst); }

}  // namespace dprelay::testing
