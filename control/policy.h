// The allocation policy: an allow-list of client disco keys (DESIGN.md §4 "Policy").
//
// File format, one entry per line:
//   discokey:<64 hex>     a client key that may allocate
//   # comment             whole-line or trailing comments
// Blank lines are ignored and surrounding whitespace is trimmed. Both keys of a pair must be
// listed for an allocation to be accepted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "proto/key.h"

namespace dprelay::control {

// Immutable after construction; copy or replace the whole object to reload.
class Policy {
 public:
  Policy() = default;

  // Errors name the file, and the line number for content errors.
  static absl::StatusOr<Policy> LoadFile(const std::string& path);
  // name is what errors call the source (normally the file path).
  static absl::StatusOr<Policy> Parse(std::string_view text, std::string_view name);

  bool Allows(const DiscoKey& key) const { return allowed_.contains(key.bytes); }
  size_t size() const { return allowed_.size(); }

 private:
  absl::flat_hash_set<std::array<uint8_t, kKeyLen>> allowed_;
};

}  // namespace dprelay::control
