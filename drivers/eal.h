// EAL start-up and tear-down returning absl::Status instead of exiting (STYLE.md 8).
#pragma once

#include <vector>

#include "absl/status/statusor.h"

namespace dprelay {

// DPDK's argument convention: EAL options, "--", then the program's own. Returns the index of
// "--" (argc if absent: everything is EAL's); `ours` gets argv[0] and what follows "--".
int SplitEalArgs(int argc, char** argv, std::vector<char*>* ours);

// rte_eal_init on argv; returns how many arguments EAL consumed (argv[0] included), so the
// caller can parse its own flags after "--".
absl::StatusOr<int> InitEal(int argc, char** argv);
void CleanupEal();

}  // namespace dprelay
