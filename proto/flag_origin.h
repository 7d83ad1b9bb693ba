// Where a gflags flag got its value: the flagfile line that set it, so that configuration
// errors name "file:line" as operators expect (dprelay-control --check, dprelay-dataplane).
// Only mains link this (gflags stays out of the libraries).
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "proto/flag_errors.h"

namespace dprelay {

// "FILE:LINE" of the last line of the --flagfile(s) that sets `flag` ("--flag=..." or
// "-flag=..."), else "command line" when the flag was set, else "default".
std::string FlagOrigin(absl::string_view flag);

// "ORIGIN: --flag: message" (FlagErrors::Line after the origin), one line per error.
std::string DescribeFlagErrors(const FlagErrors& errors);

}  // namespace dprelay
