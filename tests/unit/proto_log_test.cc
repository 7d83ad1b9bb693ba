#include "proto/log.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dprelay {
namespace {

using ::testing::MatchesRegex;

// What LogLine wrote to a temporary file.
std::string Logged(LogLevel level, const std::string& msg, bool journal) {
  std::FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  struct stat st {};
  EXPECT_EQ(fstat(fileno(f), &st), 0);
  if (journal) {
    setenv("JOURNAL_STREAM", absl::StrCat(st.st_dev, ":", st.st_ino).c_str(), 1);
  } else {
    setenv("JOURNAL_STREAM", absl::StrCat(st.st_dev, ":", st.st_ino + 1).c_str(), 1);
  }
  LogLine(level, msg, f);
  unsetenv("JOURNAL_STREAM");
  std::rewind(f);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  return std::string(buf, n);
}

// journald files a line at the priority its "<N>" prefix names, and stamps it itself.
TEST(LogTest, ToTheJournalEachLineCarriesItsSyslogPriority) {
  EXPECT_EQ(Logged(LogLevel::kError, "port 0 down", true), "<3>port 0 down\n");
  EXPECT_EQ(Logged(LogLevel::kWarning, "w", true), "<4>w\n");
  EXPECT_EQ(Logged(LogLevel::kInfo, "i", true), "<6>i\n");
  EXPECT_EQ(Logged(LogLevel::kDebug, "d", true), "<7>d\n");
}

// Elsewhere (a terminal, a file, or a JOURNAL_STREAM that is another file): level letter and
// the time in UTC with its offset.
TEST(LogTest, ElsewhereEachLineCarriesItsLevelAndUtcTime) {
  EXPECT_THAT(Logged(LogLevel::kWarning, "queue full", false),
              MatchesRegex("W [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                           "\\+00:00 queue full\n"));
  EXPECT_THAT(Logged(LogLevel::kInfo, "x", false), MatchesRegex("I .*\\+00:00 x\n"));
}

TEST(LogTest, TheLevelFlagFiltersAndBadNamesAreRefusedByName) {
  ASSERT_TRUE(ParseLogLevel("warning").ok());
  SetLogLevel(*ParseLogLevel("warning"));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(*ParseLogLevel("debug"));
  EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
  SetLogLevel(LogLevel::kInfo);
  absl::StatusOr<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--log_level=verbose"), absl::string_view::npos);
}

}  // namespace
}  // namespace dprelay
