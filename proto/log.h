// Minimal leveled logging to stderr for the control path (Debian's Abseil 20220623 has no
// absl/log). Never call from a per-packet path.
#pragma once

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dprelay {

enum class LogLevel { kInfo, kWarning, kError };

inline void LogLine(LogLevel level, const std::string& msg) {
  static const char* const kTags[] = {"I", "W", "E"};
  std::string line = absl::StrFormat(
      "%s %s %s\n", kTags[static_cast<int>(level)],
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()), msg);
  std::fputs(line.c_str(), stderr);
}

}  // namespace dprelay

#define DPRELAY_LOG_INFO(...) \
  ::dprelay::LogLine(::dprelay::LogLevel::kInfo, absl::StrFormat(__VA_ARGS__))
#define DPRELAY_LOG_WARNING(...) \
  ::dprelay::LogLine(::dprelay::LogLevel::kWarning, absl::StrFormat(__VA_ARGS__))
#define DPRELAY_LOG_ERROR(...) \
  ::dprelay::LogLine(::dprelay::LogLevel::kError, absl::StrFormat(__VA_ARGS__))
