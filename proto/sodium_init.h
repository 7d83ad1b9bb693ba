// Internal to proto/: libsodium must be initialised once before any other call into it.
#pragma once

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace dprelay::internal {

// Thread-safe (function-local static). sodium_init() only fails when the system has no usable
// randomness source, and no key can be made safely without one, so this is an init-time abort.
inline void EnsureSodiumInit() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::fputs("dprelay: sodium_init() failed: no usable randomness source\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

}  // namespace dprelay::internal
