// Leveled logging to stderr for the control path (Debian's Abseil 20220623 has no absl/log).
// Never call from a per-packet path.
//
// Under systemd, when stderr is the journal (JOURNAL_STREAM names stderr's device and inode,
// systemd.exec(5)), each line is "<N>message" with N the syslog priority (3 error, 4 warning,
// 6 info, 7 debug): journald files it at that priority and adds its own timestamp. Otherwise a
// line is "L 2026-12-02T13:41:40.836+00:00 message": level letter, UTC time with its offset.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

namespace dprelay {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" or "error" (the --log_level flags); the error names the value.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);
// Lines below `level` are not written (default: info).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// One line, formatted for the journal or for a terminal/file as above, to `out`.
void LogLine(LogLevel level, const std::string& msg, std::FILE* out = stderr);
// Whether `out` is connected to the journal (JOURNAL_STREAM matches its device and inode).
bool IsJournalStream(std::FILE* out);

}  // namespace dprelay

#define DPRELAY_LOG_AT(level, ...)                                      \
  do {                                                                  \
    if (::dprelay::LogEnabled(level)) {                                 \
      ::dprelay::LogLine(level, absl::StrFormat(__VA_ARGS__));          \
    }                                                                   \
  } while (0)
#define DPRELAY_LOG_DEBUG(...) DPRELAY_LOG_AT(::dprelay::LogLevel::kDebug, __VA_ARGS__)
#define DPRELAY_LOG_INFO(...) DPRELAY_LOG_AT(::dprelay::LogLevel::kInfo, __VA_ARGS__)
#define DPRELAY_LOG_WARNING(...) DPRELAY_LOG_AT(::dprelay::LogLevel::kWarning, __VA_ARGS__)
#define DPRELAY_LOG_ERROR(...) DPRELAY_LOG_AT(::dprelay::LogLevel::kError, __VA_ARGS__)
