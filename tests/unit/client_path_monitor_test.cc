// PathMonitor: when a bridge leg pings and when it rebinds, over a clock the test drives.
#include <chrono>
#include <string>

#include "client/path_monitor.h"
#include "gtest/gtest.h"

namespace dprelay::client {
namespace {

using Clock = PathMonitor::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

AddrPort Addr(const char* text) { return *ParseAddrPort(text); }

class PathMonitorTest : public ::testing::Test {
 protected:
  PathMonitorConfig Config() {
    PathMonitorConfig c;
    c.ping_interval = absl::Seconds(2);
    c.dead_after = absl::Seconds(8);
    c.local_check_interval = absl::Seconds(1);
    return c;
  }
  // Next() at t0 + offset, with `local_` as the observed relay-facing address.
  PathMonitor::Decision At(PathMonitor& m, Clock::duration offset) {
    return m.Next(t0_ + offset, [this] {
      ++observed_;
      return local_;
    });
  }

  const Clock::time_point t0_ = Clock::now();
  AddrPort local_ = Addr("10.0.0.1:4000");
  int observed_ = 0;
};

TEST_F(PathMonitorTest, NothingBeforeTheFirstBind) {
  PathMonitor m(Config());
  EXPECT_FALSE(m.bound());
  EXPECT_EQ(At(m, seconds(100)).action, PathMonitor::Action::kNone);
  EXPECT_EQ(m.NextWake(), Clock::time_point::max());
  EXPECT_EQ(observed_, 0);
}

TEST_F(PathMonitorTest, PingsAtOnceThenEveryInterval) {
  PathMonitor m(Config());
  m.OnBound(t0_, local_);
  EXPECT_EQ(At(m, seconds(0)).action, PathMonitor::Action::kPing);
  EXPECT_EQ(At(m, seconds(0)).action, PathMonitor::Action::kNone);
  EXPECT_EQ(At(m, milliseconds(1999)).action, PathMonitor::Action::kNone);
  m.OnPong(t0_ + milliseconds(1999));
  EXPECT_EQ(At(m, seconds(2)).action, PathMonitor::Action::kPing);
  EXPECT_TRUE(m.answered());
}

TEST_F(PathMonitorTest, PongsKeepThePathAlive) {
  PathMonitor m(Config());
  m.OnBound(t0_, local_);
  for (int s = 0; s <= 60; ++s) {
    m.OnPong(t0_ + seconds(s));
    EXPECT_NE(At(m, seconds(s)).action, PathMonitor::Action::kRebind) << "at " << s << "s";
  }
  EXPECT_TRUE(m.bound());
}

TEST_F(PathMonitorTest, NoPongForDeadAfterRebindsOnce) {
  PathMonitor m(Config());
  m.OnBound(t0_, local_);
  m.OnPong(t0_ + seconds(1));
  EXPECT_NE(At(m, milliseconds(8999)).action, PathMonitor::Action::kRebind);
  const PathMonitor::Decision d = At(m, seconds(9));
  EXPECT_EQ(d.action, PathMonitor::Action::kRebind);
  EXPECT_EQ(d.reason, RebindReason::kPathDead);
  EXPECT_STREQ(RebindReasonName(d.reason), "path_dead");
  // One episode, one rebind: nothing more until the next handshake completes.
  EXPECT_FALSE(m.bound());
  EXPECT_EQ(At(m, seconds(30)).action, PathMonitor::Action::kNone);
  m.OnBound(t0_ + seconds(30), local_);
  EXPECT_FALSE(m.answered());
  EXPECT_EQ(At(m, seconds(30)).action, PathMonitor::Action::kPing);
}

TEST_F(PathMonitorTest, NeverAnsweredCountsFromTheBind) {
  PathMonitor m(Config());
  m.OnBound(t0_ + seconds(5), local_);
  EXPECT_NE(At(m, seconds(12)).action, PathMonitor::Action::kRebind);
  EXPECT_EQ(At(m, seconds(13)).reason, RebindReason::kPathDead);
}

TEST_F(PathMonitorTest, ALocalAddressOrPortChangeRebinds) {
  PathMonitor m(Config());
  m.OnBound(t0_, local_);
  EXPECT_EQ(At(m, seconds(0)).action, PathMonitor::Action::kPing);
  EXPECT_EQ(observed_, 0);  // looked at once a check interval, not on every call
  m.OnPong(t0_ + seconds(1));
  EXPECT_EQ(At(m, seconds(1)).action, PathMonitor::Action::kNone);
  EXPECT_EQ(observed_, 1);
  local_ = Addr("10.0.0.1:4001");  // same address, new port
  EXPECT_EQ(At(m, milliseconds(1500)).action, PathMonitor::Action::kNone);
  const PathMonitor::Decision d = At(m, seconds(2));
  EXPECT_EQ(d.action, PathMonitor::Action::kRebind);
  EXPECT_EQ(d.reason, RebindReason::kLocalChanged);
  EXPECT_STREQ(RebindReasonName(d.reason), "local_changed");

  m.OnBound(t0_ + seconds(3), local_);
  local_ = Addr("10.0.0.2:4001");  // new address, same port
  m.OnPong(t0_ + seconds(4));
  EXPECT_EQ(At(m, seconds(4)).reason, RebindReason::kLocalChanged);
}

TEST_F(PathMonitorTest, NextWakeIsTheEarliestDeadline) {
  PathMonitor m(Config());
  m.OnBound(t0_, local_);
  EXPECT_EQ(m.NextWake(), t0_);  // the first ping is due at once
  ASSERT_EQ(At(m, seconds(0)).action, PathMonitor::Action::kPing);
  EXPECT_EQ(m.NextWake(), t0_ + seconds(1));  // the local check
  ASSERT_EQ(At(m, seconds(1)).action, PathMonitor::Action::kNone);
  EXPECT_EQ(m.NextWake(), t0_ + seconds(2));  // the ping and the check
}

}  // namespace
}  // namespace dprelay::client
