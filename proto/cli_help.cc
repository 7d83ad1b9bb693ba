#include "proto/cli_help.h"

#include <gflags/gflags.h>
#include <strings.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace dprelay {
namespace {

bool AsksForHelp(const char* arg) {
  return std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-help") == 0 ||
         std::strcmp(arg, "-h") == 0;
}

}  // namespace

bool PrintHelpIfAsked(int argc, char** argv) {
  bool asked = false;
  for (int i = 1; i < argc && !asked; ++i) {
    asked = AsksForHelp(argv[i]);
  }
  if (!asked) {
    return false;
  }
  const char* usage = gflags::ProgramUsage();
  // Some usage messages name themselves ("usage: dprelayctl ..."); others are the synopsis.
  std::printf("%s%s\n\nOptions:\n", strncasecmp(usage, "usage:", 6) == 0 ? "" : "Usage: ", usage);
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const gflags::CommandLineFlagInfo& f : flags) {
    if (f.filename.find("gflags") != std::string::npos) {
      continue;  // --helpxml, --tab_completion_word, ...: gflags' own
    }
    if (f.type == "bool") {
      std::printf("  --%s\n", f.name.c_str());
    } else {
      std::printf("  --%s=%s\n", f.name.c_str(), f.type == "string" ? "STRING" : "NUMBER");
    }
    std::printf("      %s (default: %s)\n", f.description.c_str(),
                f.default_value.empty() ? "empty" : f.default_value.c_str());
  }
  std::printf(
      "  --flagfile=FILE\n      Read flags from FILE, one --flag=value per line ('#' starts a "
      "comment)\n"
      "  --version\n      Print the version and the DPDK it was built with, and exit\n"
      "  --help\n      Print this help and exit\n");
  return true;
}

}  // namespace dprelay
