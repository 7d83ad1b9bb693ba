// Secrets (private keys) in memory libsodium guards: sodium_malloc places the value just below
// a guard page, with another guard page and a canary before it, locks it into RAM (it never
// reaches swap or a core dump's pages on disk), and sodium_free zeroes it before unmapping. The
// box is read-only once filled: a stray write faults instead of corrupting a key. Each box
// costs a few pages, so this is for the handful of long-lived keys, not per session.
#pragma once

#include <sodium.h>

#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/sodium_init.h"

namespace dprelay {

template <typename T>
class SecretBox {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "a box holds plain bytes: copied in with memcpy, zeroed on free");

 public:
  // A box holding a copy of `value` (the caller wipes its own copy). ResourceExhausted if the
  // guarded allocation fails (mmap failed or the address space is exhausted).
  static absl::StatusOr<SecretBox> Make(const T& value) {
    internal::EnsureSodiumInit();
    // sodium_malloc puts the region at the end of a page: a size that is a multiple of the
    // alignment keeps the start aligned.
    constexpr size_t kSize = (sizeof(T) + alignof(T) - 1) / alignof(T) * alignof(T);
    void* p = sodium_malloc(kSize);
    if (p == nullptr) {
      return absl::ResourceExhaustedError("sodium_malloc failed: no guarded memory for a key");
    }
    std::memcpy(p, &value, sizeof(T));
    sodium_mprotect_readonly(p);
    return SecretBox(static_cast<T*>(p));
  }

  ~SecretBox() {
    if (value_ != nullptr) {
      sodium_free(value_);  // zeroes, unlocks, unmaps
    }
  }
  SecretBox(SecretBox&& other) noexcept : value_(std::exchange(other.value_, nullptr)) {}
  SecretBox& operator=(SecretBox&& other) noexcept {
    if (this != &other) {
      this->~SecretBox();
      value_ = std::exchange(other.value_, nullptr);
    }
    return *this;
  }
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_; }

 private:
  explicit SecretBox(T* value) : value_(value) {}

  T* value_;
};

// Zeroes a secret's bytes in place (not elided by the compiler) and then forgets them.
template <typename T>
void Wipe(T* secret) {
  static_assert(std::is_trivially_copyable_v<T>);
  sodium_memzero(secret, sizeof(T));
}
inline void Wipe(std::string* secret) {
  sodium_memzero(secret->data(), secret->size());
  secret->clear();
}

}  // namespace dprelay
