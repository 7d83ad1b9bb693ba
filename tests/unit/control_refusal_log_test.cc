#include "control/refusal_log.h"
#include "gtest/gtest.h"

namespace dprelay::control {
namespace {

TEST(RefusalLogTest, KeepsTheMostRecentOldestFirst) {
  RefusalLog log(3);
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  for (int i = 0; i < 5; ++i) {
    log.Add({.at = t0 + absl::Seconds(i),
             .reason = i % 2 == 0 ? Refusal::kNotAllowed : Refusal::kKeyRate,
             .sender = std::nullopt,
             .source = AddrPort{IpAddr::V4(192, 0, 2, static_cast<uint8_t>(i)), 1}});
  }
  EXPECT_EQ(log.total(), 5u);
  std::vector<RefusalRecord> recent = log.Recent();
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].at, t0 + absl::Seconds(2));
  EXPECT_EQ(recent[2].at, t0 + absl::Seconds(4));
  EXPECT_EQ(FormatAddrPort(recent[2].source), "192.0.2.4:1");
  EXPECT_EQ(recent[1].reason, Refusal::kKeyRate);
}

}  // namespace
}  // namespace dprelay::control
