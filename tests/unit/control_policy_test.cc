#include <fstream>
#include <string>

#include "control/policy.h"
#include "control_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST(PolicyTest, ParsesKeysCommentsAndBlankLines) {
  DiscoKeyPair a = GenerateKeyPair();
  DiscoKeyPair b = GenerateKeyPair();
  DiscoKeyPair c = GenerateKeyPair();
  std::string text = "# allowed clients\n\n   " + FormatDiscoKey(a.pub) + "   \n\t" +
                     FormatDiscoKey(b.pub) + "  # bob's laptop\r\n   # indented comment\n" +
                     FormatDiscoKey(a.pub) + "\n";  // duplicates are harmless
  absl::StatusOr<Policy> policy = Policy::Parse(text, "test.policy");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->size(), 2u);
  EXPECT_TRUE(policy->Allows(a.pub));
  EXPECT_TRUE(policy->Allows(b.pub));
  EXPECT_FALSE(policy->Allows(c.pub));
}

TEST(PolicyTest, EmptyPolicyAllowsNothing) {
  absl::StatusOr<Policy> policy = Policy::Parse("# nobody\n", "empty");
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->size(), 0u);
  EXPECT_FALSE(policy->Allows(GenerateKeyPair().pub));
  EXPECT_FALSE(Policy().Allows(GenerateKeyPair().pub));
}

TEST(PolicyTest, ErrorsNameTheFileAndLine) {
  const std::string good = FormatDiscoKey(GenerateKeyPair().pub);
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {"# c\n" + good + "\nnot-a-key\n", "p.txt:3:"},
      {good + "\n" + good.substr(0, 20) + "\n", "p.txt:2:"},
      {"discokey:" + std::string(64, 'z') + "\n", "p.txt:1:"},
      {good + " trailing\n", "p.txt:1:"},
      // Rejected by ValidatePeerKey: all zero, and a low-order point (u = 1).
      {"\n\ndiscokey:" + std::string(64, '0') + "\n", "p.txt:3:"},
      {"discokey:01" + std::string(62, '0') + "\n", "p.txt:1:"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Policy> policy = Policy::Parse(c.text, "p.txt");
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.want)) << c.text;
  }
}

TEST(PolicyTest, LoadsAFile) {
  TempDir tmp;
  DiscoKeyPair a = GenerateKeyPair();
  std::ofstream(tmp.File("allow")) << FormatDiscoKey(a.pub) << "\n";
  absl::StatusOr<Policy> policy = Policy::LoadFile(tmp.File("allow"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Allows(a.pub));
}

TEST(PolicyTest, MissingFileIsAnErrorNamingIt) {
  TempDir tmp;
  absl::StatusOr<Policy> policy = Policy::LoadFile(tmp.File("nope"));
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(tmp.File("nope")));
}

TEST(PolicyTest, FileErrorsNameTheFileAndLine) {
  TempDir tmp;
  std::ofstream(tmp.File("allow")) << "# ok\n\nbad\n";
  absl::StatusOr<Policy> policy = Policy::LoadFile(tmp.File("allow"));
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(tmp.File("allow") + ":3:"));
}

}  // namespace
}  // namespace dprelay::control
