#include "proto/flag_origin.h"

#include <gflags/gflags.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dprelay {
namespace {

// The flag a flagfile line sets, or empty: "--name=value", "-name=value", "--name", "-noname".
absl::string_view FlagOfLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&line, "-")) {
    return {};
  }
  absl::ConsumePrefix(&line, "-");
  return line.substr(0, line.find('='));
}

bool SetsFlag(absl::string_view line, absl::string_view flag) {
  absl::string_view name = FlagOfLine(line);
  return name == flag || (absl::ConsumePrefix(&name, "no") && name == flag);
}

}  // namespace

std::string FlagOrigin(absl::string_view flag) {
  std::string origin;
  std::string files;
  if (gflags::GetCommandLineOption("flagfile", &files)) {
    for (absl::string_view file : absl::StrSplit(files, ',', absl::SkipEmpty())) {
      std::ifstream in{std::string(file)};
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        if (SetsFlag(line, flag)) {
          origin = absl::StrCat(file, ":", n);
        }
      }
    }
  }
  if (!origin.empty()) {
    return origin;
  }
  gflags::CommandLineFlagInfo info;
  if (gflags::GetCommandLineFlagInfo(std::string(flag).c_str(), &info) && !info.is_default) {
    return "command line";
  }
  return "default";
}

std::string DescribeFlagErrors(const FlagErrors& errors) {
  std::string out;
  for (const FlagError& e : errors.errors()) {
    absl::StrAppend(&out, FlagOrigin(e.flag), ": ", FlagErrors::Line(e), "\n");
  }
  return out;
}

}  // namespace dprelay
