// Shared keys (control private key x client public key) of allowed client keys, so that a
// client's requests after its first cost no X25519.
//
// What enters is decided by the caller: only keys the policy allows, so the cache is bounded
// by the policy's size and nothing an outsider sends can add to it or flush it. It never
// evicts; the caller drops the keys a policy reload removed (EraseIf).
//
// The keys themselves live in one sodium_allocarray block (guard pages around it, mlock'd
// where RLIMIT_MEMLOCK allows: sodium_malloc ignores an mlock failure, so this is a best
// effort against swap, not a promise) and are zeroed when erased and when the block is
// freed. The index maps public keys, which are not secret, to slots on the ordinary heap.
//
// Not thread-safe: the control loop's thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::control {

class SharedKeyCache {
 public:
  SharedKeyCache() = default;
  ~SharedKeyCache();

  SharedKeyCache(const SharedKeyCache&) = delete;
  SharedKeyCache& operator=(const SharedKeyCache&) = delete;

  // The cached key of peer, or nullptr. Valid until the next Insert or EraseIf.
  const SharedKey* Find(const DiscoKey& peer) const;
  // Stores (or replaces) peer's key and returns where it lives (valid as for Find).
  // ResourceExhausted if no secure memory could be had for a larger block.
  absl::StatusOr<const SharedKey*> Insert(const DiscoKey& peer, const SharedKey& key);
  // Zeroes and drops every entry for which drop(peer) is true.
  void EraseIf(absl::FunctionRef<bool(const DiscoKey&)> drop);

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  absl::Status Grow();

  SharedKey* slots_ = nullptr;  // capacity_ keys in sodium_allocarray'd memory
  size_t capacity_ = 0;
  std::vector<uint32_t> free_;  // slots not in use
  absl::flat_hash_map<std::array<uint8_t, kKeyLen>, uint32_t> index_;
};

}  // namespace dprelay::control
