// EAL start-up and tear-down returning absl::Status instead of exiting (STYLE.md 8).
#pragma once

#include "absl/status/statusor.h"

namespace dprelay {

// rte_eal_init on argv; returns how many arguments EAL consumed (argv[0] included), so the
// caller can parse its own flags after "--".
absl::StatusOr<int> InitEal(int argc, char** argv);
void CleanupEal();

}  // namespace dprelay
