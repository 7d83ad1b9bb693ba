// dprelay-control --check: every flag problem reported, the policy's file:line, and nothing
// created (no state directory, no keys).
#include "control/config_check.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "control/control_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/control_test_util.h"

namespace dprelay::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

ControlFlags Flags(const TempDir& tmp) {
  return ControlFlags{
      .state_dir = tmp.File("state"),
      .listen = "127.0.0.1:40001",
      .policy = tmp.File("policy"),
      .dataplane_socket = tmp.File("dp.sock"),
      .bind_lifetime = "30s",
      .steady_state_lifetime = "5m",
      .admin_socket = tmp.File("control.sock"),
      .metrics_listen = "127.0.0.1:9100",
  };
}

TEST(ControlConfigCheckTest, EveryFlagProblemIsReportedNotJustTheFirst) {
  TempDir tmp;
  ControlFlags f = Flags(tmp);
  f.listen = "nonsense";
  f.steady_state_lifetime = "forever";
  f.health_listen = "1.2.3.4";
  FlagErrors all;
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(f, &all);
  ASSERT_FALSE(c.ok());
  std::vector<std::string> flags;
  for (const FlagError& e : all.errors()) {
    flags.push_back(e.flag);
  }
  EXPECT_THAT(flags, ElementsAre("listen", "steady_state_lifetime", "health_listen"));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("--listen: \"nonsense\" is not ip:port"));
  EXPECT_EQ(std::count(c.status().message().begin(), c.status().message().end(), '\n'), 2);
}

TEST(ControlConfigCheckTest, SummarisesAValidConfigurationAndCreatesNothing) {
  TempDir tmp;
  std::ofstream(tmp.File("policy"))
      << "discokey:" << std::string(64, 'a') << "\nstatic_endpoint 198.51.100.7:443\n";
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(Flags(tmp));
  ASSERT_TRUE(c.ok()) << c.status();
  ControlCheck check = CheckControlConfig(*c);
  EXPECT_THAT(check.errors, ElementsAre());
  EXPECT_THAT(check.summary, HasSubstr("allocation socket  127.0.0.1:40001"));
  EXPECT_THAT(check.summary, HasSubstr(tmp.File("policy") + ": 1 keys"));
  EXPECT_THAT(check.summary, HasSubstr("198.51.100.7:443 (policy)"));
  EXPECT_THAT(check.summary, HasSubstr("new keys at first start"));
  EXPECT_THAT(check.summary, HasSubstr("metrics            127.0.0.1:9100"));
  EXPECT_FALSE(std::filesystem::exists(tmp.File("state")));
  EXPECT_FALSE(std::filesystem::exists(tmp.File("control.sock")));
}

TEST(ControlConfigCheckTest, PolicyErrorsNameFileAndLine) {
  TempDir tmp;
  std::ofstream(tmp.File("policy")) << "# ok\n\ndiscokey:zz\n";
  ControlCheck check = CheckControlConfig(*ValidateControlFlags(Flags(tmp)));
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_THAT(check.errors[0], HasSubstr(tmp.File("policy") + ":3:"));
}

TEST(ControlConfigCheckTest, AnUnsafeStateDirectoryIsAnError) {
  TempDir tmp;
  std::ofstream(tmp.File("policy")) << "\n";
  std::filesystem::create_directory(tmp.File("state"));
  chmod(tmp.File("state").c_str(), 0777);
  ControlCheck check = CheckControlConfig(*ValidateControlFlags(Flags(tmp)));
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_THAT(check.errors[0], HasSubstr(tmp.File("state")));
  EXPECT_THAT(check.summary, HasSubstr("no keys, every allocation will be refused"));
}

}  // namespace
}  // namespace dprelay::control
