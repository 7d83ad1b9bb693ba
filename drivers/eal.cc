#include "drivers/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace dprelay {

absl::StatusOr<int> InitEal(int argc, char** argv) {
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    return absl::InternalError(
        absl::StrFormat("EAL initialisation failed: %s (check the EAL options before '--')",
                        rte_strerror(rte_errno)));
  }
  return consumed;
}

void CleanupEal() { rte_eal_cleanup(); }

}  // namespace dprelay
