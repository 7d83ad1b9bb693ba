#include <fstream>
#include <string>

#include "control/policy.h"
#include "control/source_addr.h"
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

namespace dprelay::control {
namespace {

std::string K(const DiscoKeyPair& k) { return FormatDiscoKey(k.pub); }

TEST(PolicyRulesTest, AllowWithPeersAndQuotas) {
  DiscoKeyPair a = GenerateKeyPair(), b = GenerateKeyPair(), c = GenerateKeyPair();
  std::string text = "allow " + K(a) + " peers=" + K(b) + " max_sessions=3 rate=2.5/s\n" + K(b) +
                     "\n" + "allow " + K(c) + "\n" + "default max_sessions=7 rate=1/s\n" +
                     "source 203.0.113.0/24 max_sessions=2\n" + "source 203.0.0.0/16 rate=4/s\n" +
                     "capacity 100\n" + "static_endpoint 198.51.100.1:40000,[2001:db8::1]:40000\n";
  absl::StatusOr<Policy> p = Policy::Parse(text, "p");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 3u);
  EXPECT_TRUE(p->AllowsPair(a.pub, b.pub));
  EXPECT_FALSE(p->AllowsPair(a.pub, c.pub));  // a may only pair with b
  EXPECT_TRUE(p->AllowsPair(b.pub, c.pub));
  EXPECT_EQ(p->KeyQuota(a.pub).max_sessions, 3u);
  EXPECT_EQ(p->KeyQuota(a.pub).rate_per_second, 2.5);
  EXPECT_EQ(p->KeyQuota(b.pub).max_sessions, 7u);  // the default
  EXPECT_EQ(p->capacity(), 100u);
  ASSERT_EQ(p->static_endpoints().size(), 2u);
  EXPECT_EQ(FormatAddrPort(p->static_endpoints()[1]), "[2001:db8::1]:40000");
  // Longest prefix wins; v4-mapped sources match IPv4 rules after canonicalisation.
  const SourceRule* r = p->MatchSource(CanonicalIp(*ParseIp("::ffff:203.0.113.9")));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->quota.max_sessions, 2u);
  r = p->MatchSource(*ParseIp("203.0.7.1"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->quota.rate_per_second, 4.0);
  EXPECT_EQ(p->MatchSource(*ParseIp("192.0.2.1")), nullptr);
}

TEST(PolicyRulesTest, ErrorsNameFileLineAndWhat) {
  const std::string k = FormatDiscoKey(GenerateKeyPair().pub);
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {"allow\n", "f:1: allow needs"},
      {"\nallow " + k + " max_sessions=x\n", "f:2: max_sessions=x"},
      {"allow " + k + " rate=5\n", "f:1: rate=5"},
      {"allow " + k + " rate=0/s\n", "f:1: rate=0/s"},
      {"allow " + k + " color=blue\n", "f:1: unknown option \"color=blue\""},
      {"allow " + k + " peers=discokey:zz\n", "f:1: peers:"},
      {"allow " + k + "\nallow " + k + "\n", "f:2: key already listed on line 1"},
      {"source 10.0.0.1/8 max_sessions=1\n", "f:1: prefix \"10.0.0.1/8\""},
      {"source 10.0.0.0/33 max_sessions=1\n", "f:1: prefix \"10.0.0.0/33\""},
      {"source 10.0.0.0/8\n", "f:1: source sets no quota"},
      {"source 10.0.0.0/8 rate=1/s\nsource 10.0.0.0/8 rate=2/s\n", "f:2: prefix 10.0.0.0/8"},
      {"capacity 0\n", "f:1: capacity"},
      {"capacity 5\ncapacity 6\n", "f:2: capacity already set on line 1"},
      {"static_endpoint 1.2.3.4\n", "f:1: endpoint \"1.2.3.4\""},
      {"static_endpoint 0.0.0.0:40000\n", "f:1: endpoint \"0.0.0.0:40000\""},
      {"frobnicate\n", "f:1: unknown directive \"frobnicate\""},
      {k + " max_sessions=1\n", "f:1: unexpected \"max_sessions=1\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Policy> policy = Policy::Parse(c.text, "f");
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.want)) << c.text;
  }
}

TEST(SourceAddrTest, Canonicalises) {
  EXPECT_EQ(FormatIp(CanonicalIp(*ParseIp("::ffff:192.0.2.7"))), "192.0.2.7");
  EXPECT_EQ(FormatIp(CanonicalIp(*ParseIp("::1"))), "127.0.0.1");
  EXPECT_EQ(FormatIp(CanonicalIp(*ParseIp("2001:db8::1"))), "2001:db8::1");
  EXPECT_FALSE(IsUsableSource(CanonicalIp(*ParseIp("0.0.0.0"))));
  EXPECT_FALSE(IsUsableSource(CanonicalIp(*ParseIp("::"))));
  EXPECT_FALSE(IsUsableSource(CanonicalIp(*ParseIp("::ffff:0.0.0.0"))));
  EXPECT_FALSE(IsUsableSource(IpAddr{}));
  EXPECT_TRUE(IsUsableSource(CanonicalIp(*ParseIp("::1"))));
  // Prefixes are canonicalised the same way.
  absl::StatusOr<IpPrefix> mapped = ParsePrefix("::ffff:10.1.0.0/112");
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(FormatPrefix(*mapped), "10.1.0.0/16");
  EXPECT_TRUE(mapped->Contains(*ParseIp("10.1.2.3")));
  EXPECT_FALSE(mapped->Contains(*ParseIp("10.2.0.1")));
  absl::StatusOr<IpPrefix> loop6 = ParsePrefix("::1");
  ASSERT_TRUE(loop6.ok());
  EXPECT_TRUE(loop6->Contains(CanonicalIp(*ParseIp("127.0.0.1"))));
  absl::StatusOr<IpPrefix> v6 = ParsePrefix("2001:db8:8000::/33");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains(*ParseIp("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->Contains(*ParseIp("2001:db8:7fff::1")));
  EXPECT_TRUE(ParsePrefix("0.0.0.0/0")->Contains(*ParseIp("8.8.8.8")));
  EXPECT_FALSE(ParsePrefix("0.0.0.0/0")->Contains(*ParseIp("2001:db8::1")));
}

TEST(EndpointListTest, ParsesAndNamesTheBadItem) {
  absl::StatusOr<std::vector<AddrPort>> eps =
      ParseEndpointList("203.0.113.5:40000, [2001:db8::5]:40001,203.0.113.5:40000");
  ASSERT_TRUE(eps.ok()) << eps.status();
  ASSERT_EQ(eps->size(), 2u);  // duplicates collapse
  EXPECT_EQ(FormatAddrPort((*eps)[1]), "[2001:db8::5]:40001");
  for (const char* bad : {"203.0.113.5:40000,nope", "203.0.113.5:0", "", "203.0.113.5"}) {
    absl::StatusOr<std::vector<AddrPort>> r = ParseEndpointList(bad);
    ASSERT_FALSE(r.ok()) << bad;
  }
  EXPECT_THAT(std::string(ParseEndpointList("1.2.3.4:5,nope").status().message()),
              HasSubstr("endpoint \"nope\""));
}

}  // namespace
}  // namespace dprelay::control
