#include "dataplane/install_params.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace dprelay {

namespace {

constexpr size_t kMaxEntries = UINT16_MAX;

}  // namespace

absl::StatusOr<uint16_t> InstallParamsTable::Acquire(const InstallParams& p) {
  for (int64_t lifetime : {p.bind_lifetime_ns, p.steady_state_lifetime_ns}) {
    if (lifetime <= 0 || lifetime > kMaxLifetimeNs) {
      return absl::InvalidArgumentError(
          absl::StrFormat("lifetime %dns is out of range (0, 24h]", lifetime));
    }
  }
  if (last_hit_ < entries_.size() && entries_[last_hit_].refs != 0 &&
      entries_[last_hit_].params == p) {
    ++entries_[last_hit_].refs;
    return last_hit_;
  }
  size_t free_slot = entries_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].refs == 0) {
      free_slot = std::min(free_slot, i);
    } else if (entries_[i].params == p) {
      ++entries_[i].refs;
      last_hit_ = static_cast<uint16_t>(i);
      return last_hit_;
    }
  }
  if (free_slot == entries_.size()) {
    if (entries_.size() == kMaxEntries) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("%u distinct server keys and lifetimes are live", kMaxEntries));
    }
    entries_.emplace_back();
  }
  entries_[free_slot] = Entry{.params = p, .refs = 1};
  last_hit_ = static_cast<uint16_t>(free_slot);
  return last_hit_;
}

void InstallParamsTable::Release(uint16_t index) { --entries_[index].refs; }

size_t InstallParamsTable::live() const {
  size_t n = 0;
  for (const Entry& e : entries_) {
    n += e.refs != 0 ? 1 : 0;
  }
  return n;
}

}  // namespace dprelay
