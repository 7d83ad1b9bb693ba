#include "control/shared_key_cache.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace dprelay::control {
namespace {

// The first block: a small policy needs nothing bigger, and sodium_allocarray costs whole pages
// (plus two guard pages) however little is asked for.
constexpr size_t kInitialSlots = 64;

}  // namespace

SharedKeyCache::~SharedKeyCache() {
  sodium_free(slots_);  // zeroes the whole block first; nullptr is a no-op
}

const SharedKey* SharedKeyCache::Find(const DiscoKey& peer) const {
  auto it = index_.find(peer.bytes);
  return it == index_.end() ? nullptr : &slots_[it->second];
}

absl::StatusOr<const SharedKey*> SharedKeyCache::Insert(const DiscoKey& peer,
                                                        const SharedKey& key) {
  auto it = index_.find(peer.bytes);
  if (it == index_.end()) {
    if (free_.empty()) {
      if (absl::Status grown = Grow(); !grown.ok()) {
        return grown;
      }
    }
    it = index_.emplace(peer.bytes, free_.back()).first;
    free_.pop_back();
  }
  slots_[it->second] = key;
  return &slots_[it->second];
}

void SharedKeyCache::EraseIf(absl::FunctionRef<bool(const DiscoKey&)> drop) {
  for (auto it = index_.begin(); it != index_.end();) {
    if (drop(DiscoKey{.bytes = it->first})) {
      sodium_memzero(&slots_[it->second], sizeof(SharedKey));
      free_.push_back(it->second);
      index_.erase(it++);
    } else {
      ++it;
    }
  }
}

absl::Status SharedKeyCache::Grow() {
  // sodium_init() has run: the caller computed the key it is inserting.
  const size_t next = capacity_ == 0 ? kInitialSlots : capacity_ * 2;
  auto* bigger = static_cast<SharedKey*>(sodium_allocarray(next, sizeof(SharedKey)));
  if (bigger == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("shared key cache: no secure memory for ", next, " keys"));
  }
  if (slots_ != nullptr) {
    std::memcpy(bigger, slots_, capacity_ * sizeof(SharedKey));
    sodium_free(slots_);
  }
  slots_ = bigger;
  // Hand out low slots first (back of the vector), for no reason other than tidiness.
  for (size_t i = next; i > capacity_; --i) {
    free_.push_back(static_cast<uint32_t>(i - 1));
  }
  capacity_ = next;
  return absl::OkStatus();
}

}  // namespace dprelay::control
