// Neighbour Discovery option lists from untrusted packets (dataplane/nd_options.h): any bytes
// are accepted or refused, never read past; an accepted list's options tile it exactly, and a
// link-layer address found is the first such option's.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "dataplane/nd_options.h"
#include "fuzz_check.h"

namespace dprelay {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  // An exact-size copy, so that a read past the end is one (the sanitizers see it).
  std::vector<uint8_t> opts(data, data + size);
  for (uint8_t type : {kNdOptSourceLinkAddr, kNdOptTargetLinkAddr}) {
    std::optional<MacAddr> mac;
    const bool ok = FindNdLinkAddr(opts.data(), opts.size(), type, &mac);
    // The same walk written out: lengths in 8-byte units, never 0, inside the list.
    size_t at = 0;
    bool valid = true;
    std::optional<MacAddr> first;
    while (at < opts.size()) {
      if (opts.size() - at < 2 || opts[at + 1] == 0 || opts[at + 1] * 8u > opts.size() - at) {
        valid = false;
        break;
      }
      if (opts[at] == type && !first) {
        MacAddr m;
        std::memcpy(m.data(), &opts[at + 2], 6);
        first = m;
      }
      at += opts[at + 1] * 8u;
    }
    FUZZ_CHECK(ok == valid);
    if (ok) {
      FUZZ_CHECK(mac == first);
    }
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
