#include "dataplane/nd_options.h"

#include <cstring>

namespace dprelay {

bool FindNdLinkAddr(const uint8_t* opt, size_t len, uint8_t type, std::optional<MacAddr>* mac) {
  while (len != 0) {
    if (len < 2 || opt[1] == 0 || size_t{opt[1]} * 8 > len) {
      return false;
    }
    const size_t n = size_t{opt[1]} * 8;
    if (opt[0] == type && n >= kNdLinkAddrOptionLen && !mac->has_value()) {
      MacAddr m;
      std::memcpy(m.data(), opt + 2, 6);
      *mac = m;
    }
    opt += n;
    len -= n;
  }
  return true;
}

}  // namespace dprelay
