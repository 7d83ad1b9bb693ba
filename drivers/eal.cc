#include "drivers/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace dprelay {

int SplitEalArgs(int argc, char** argv, std::vector<char*>* ours) {
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  }
  ours->assign({argv[0]});
  for (int i = split + 1; i < argc; ++i) {
    ours->push_back(argv[i]);
  }
  return split;
}

absl::StatusOr<int> InitEal(int argc, char** argv) {
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    return absl::InternalError(
        absl::StrFormat("EAL initialisation failed: %s (check the EAL options, before '--' or in "
                        "--eal_args; --check finds the usual causes)",
                        rte_strerror(rte_errno)));
  }
  return consumed;
}

void CleanupEal() { rte_eal_cleanup(); }

}  // namespace dprelay
