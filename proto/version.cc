#include "proto/version.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace dprelay {

std::string VersionLine(const char* program) {
  return absl::StrCat(program, " ", kVersion, " (DPDK ", kDpdkVersion, ")");
}

bool PrintVersionIfAsked(int argc, char** argv, const char* program) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-version") == 0) {
      std::printf("%s\n", VersionLine(program).c_str());
      return true;
    }
  }
  return false;
}

}  // namespace dprelay
