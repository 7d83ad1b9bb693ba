#include "proto/log.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dprelay {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

// syslog priorities (RFC 5424): err 3, warning 4, info 6, debug 7.
constexpr int kPriority[] = {7, 6, 4, 3};
constexpr char kLetter[] = {'D', 'I', 'W', 'E'};

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
      {"debug", LogLevel::kDebug},
      {"info", LogLevel::kInfo},
      {"warning", LogLevel::kWarning},
      {"error", LogLevel::kError}};
  for (const auto& [n, level] : kNames) {
    if (name == n) {
      return level;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--log_level=", std::string(name), ": expected debug, info, warning or error"));
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

bool IsJournalStream(std::FILE* out) {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) {
    return false;
  }
  const std::string_view v(env);
  const size_t colon = v.find(':');
  uint64_t dev = 0, ino = 0;
  struct stat st {};
  return colon != std::string_view::npos &&
         absl::SimpleAtoi(absl::string_view(v.data(), colon), &dev) &&
         absl::SimpleAtoi(absl::string_view(v.data() + colon + 1, v.size() - colon - 1), &ino) &&
         fstat(fileno(out), &st) == 0 && static_cast<uint64_t>(st.st_dev) == dev &&
         static_cast<uint64_t>(st.st_ino) == ino;
}

void LogLine(LogLevel level, const std::string& msg, std::FILE* out) {
  const int i = static_cast<int>(level);
  // Checked per line: a log goes to the journal or not for the process's life, and logging
  // is off the fast path; an fstat per line is cheap next to the write.
  const std::string line =
      IsJournalStream(out)
          ? absl::StrCat("<", kPriority[i], ">", msg, "\n")
          : absl::StrCat(std::string(1, kLetter[i]), " ",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", absl::Now(),
                                          absl::UTCTimeZone()),
                         " ", msg, "\n");
  std::fputs(line.c_str(), out);
}

}  // namespace dprelay
