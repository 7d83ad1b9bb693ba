// FlagOrigin and FlagErrors: configuration errors name the flagfile line that set the flag.
#include "proto/flag_origin.h"

#include <gflags/gflags.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/temp_dir.h"

DEFINE_string(origin_test_listen, "0.0.0.0:1", "test flag");
DEFINE_string(origin_test_policy, "", "test flag");
DEFINE_string(origin_test_unset, "", "test flag");
DEFINE_bool(origin_test_bool, false, "test flag");

namespace dprelay {
namespace {

TEST(FlagOriginTest, ErrorsNameTheFlagfileLine) {
  testing::ScratchDir dir;
  const std::string file = dir.File("control.flags");
  std::ofstream(file) << "# comment\n"
                      << "--origin_test_listen=1.2.3.4:5\n"
                      << "\n"
                      << "  -origin_test_policy=/etc/x\n"
                      << "--origin_test_listen=garbage\n"
                      << "--noorigin_test_bool\n";
  std::string flagfile_arg = "--flagfile=" + file;
  char prog[] = "test";
  char* argv[] = {prog, flagfile_arg.data(), nullptr};
  int argc = 2;
  char** p = argv;
  gflags::ParseCommandLineFlags(&argc, &p, false);
  EXPECT_EQ(FLAGS_origin_test_listen, "garbage");
  EXPECT_EQ(FlagOrigin("origin_test_listen"), file + ":5");  // the last line wins
  EXPECT_EQ(FlagOrigin("origin_test_policy"), file + ":4");
  EXPECT_EQ(FlagOrigin("origin_test_bool"), file + ":6");
  EXPECT_EQ(FlagOrigin("origin_test_unset"), "default");
  gflags::SetCommandLineOption("origin_test_unset", "y");
  EXPECT_EQ(FlagOrigin("origin_test_unset"), "command line");

  FlagErrors errors;
  errors.Add("origin_test_listen", "\"garbage\" is not ip:port");
  errors.Add("origin_test_policy", "--origin_test_policy=/etc/x: no such file");
  EXPECT_EQ(DescribeFlagErrors(errors),
            file + ":5: --origin_test_listen: \"garbage\" is not ip:port\n" + file +
                ":4: --origin_test_policy=/etc/x: no such file\n");
  EXPECT_EQ(errors.ToStatus().message(),
            "--origin_test_listen: \"garbage\" is not ip:port\n"
            "--origin_test_policy=/etc/x: no such file");
}

}  // namespace
}  // namespace dprelay
