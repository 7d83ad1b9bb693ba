#include "tests/testutil/eal_main.h"

#include <gtest/gtest.h>
#include <rte_eal.h>

#include <cstdio>
#include <iterator>

namespace dprelay::testing {

int RunEalTests(int argc, char** argv, const char* lcores) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal_args[] = {argv[0],     "-l",       lcores,
                            "--no-huge", "--no-pci", "--no-shconf",
                            "-m",        "256",      "--log-level=*:warning"};
  if (rte_eal_init(static_cast<int>(std::size(eal_args)), const_cast<char**>(eal_args)) < 0) {
    std::fprintf(stderr, "EAL init failed (lcores %s)\n", lcores);
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}

}  // namespace dprelay::testing
