// The benchmarks' main(): EAL arguments before "--", gflags after, then the benchmark.
#pragma once

#include <gflags/gflags.h>
#include <rte_eal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "drivers/eal.h"

namespace dprelay::perf {

inline int BenchMain(int argc, char** argv, int (*run)()) {
  std::vector<char*> ours;
  const int split = SplitEalArgs(argc, argv, &ours);
  int our_argc = static_cast<int>(ours.size());
  char** our_argv = ours.data();
  gflags::ParseCommandLineFlags(&our_argc, &our_argv, true);
  absl::StatusOr<int> eal = InitEal(split, argv);
  if (!eal.ok()) {
    std::fprintf(stderr, "%s\n", std::string(eal.status().message()).c_str());
    return 1;
  }
  const int rc = run();
  rte_eal_cleanup();
  return rc;
}

}  // namespace dprelay::perf
