// The admin socket's limits (control/admin_server.h): per-uid connection cap and the header
// timeout, with their counters. The server runs on this thread with the test's clock.
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/admin_protocol.h"
#include "control/admin_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/stream_test_util.h"
#include "tests/unit/temp_dir.h"

namespace dprelay::control {
namespace {

using dprelay::testing::ClosedByServer;
using dprelay::testing::ConnectUnix;
using dprelay::testing::Exchange;
using dprelay::testing::ReadToClose;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

class AdminServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.File("control.sock");
    absl::StatusOr<std::unique_ptr<AdminServer>> s = AdminServer::Listen(
        path_, [](const AdminRequest& request, const AdminCaller&, AdminServer::Reply reply) {
          reply("pong " + request.command + "\n");
        });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  void TearDown() override {
    for (int fd : fds_) {
      close(fd);
    }
  }
  int Connect() {
    fds_.push_back(ConnectUnix(server_.get(), now_, path_));
    return fds_.back();
  }
  uint64_t Count(net::StreamCounter c) const { return server_->counters()[static_cast<size_t>(c)]; }

  dprelay::testing::ScratchDir tmp_;
  std::string path_;
  std::unique_ptr<AdminServer> server_;
  absl::Time now_ = kT0;
  std::vector<int> fds_;
};

const std::string kStatus = "DPRELAY-ADMIN/1 text status\n";

TEST_F(AdminServerLimitsTest, OneUidHoldsAtMostItsCap) {
  for (size_t i = 0; i < AdminServer::kMaxPerUid; ++i) {
    Connect();
  }
  ASSERT_EQ(server_->connections(), AdminServer::kMaxPerUid);
  // The next one from the same uid is told why and closed.
  EXPECT_EQ(ReadToClose(server_.get(), now_, Connect()),
            FormatAdminResponse(absl::ResourceExhaustedError("too many admin clients")));
  EXPECT_EQ(Count(net::StreamCounter::kRefusedSourceCap), 1u);
  // One of the idle ones goes away: there is room again.
  close(fds_[0]);
  fds_.erase(fds_.begin());
  EXPECT_EQ(Exchange(server_.get(), now_, Connect(), kStatus), "OK\npong status\n");
}

TEST_F(AdminServerLimitsTest, IdleConnectionsAreClosedAfterTheHeaderTimeout) {
  const int idle = Connect();
  now_ += AdminServer::kHeaderTimeout - absl::Milliseconds(100);
  EXPECT_FALSE(ClosedByServer(server_.get(), now_, idle));
  now_ += absl::Milliseconds(200);
  EXPECT_TRUE(ClosedByServer(server_.get(), now_, idle));
  EXPECT_EQ(Count(net::StreamCounter::kHeaderTimeout), 1u);
  EXPECT_EQ(Exchange(server_.get(), now_, Connect(), kStatus), "OK\npong status\n");
}

// Found by fuzz_admin: "... ping 17\r " read the argument as "17\r", which formats to a line
// that parses to "17". Trailing whitespace, CR included, is not part of the request.
TEST(AdminProtocolTest, TrailingWhitespaceIsNotPartOfTheLastWord) {
  for (const char* line : {"DPRELAY-ADMIN/1 text ping 17\r", "DPRELAY-ADMIN/1 text ping 17\r ",
                           "DPRELAY-ADMIN/1 text ping 17 \t"}) {
    absl::StatusOr<AdminRequest> r = ParseAdminRequest(line);
    ASSERT_TRUE(r.ok()) << line;
    EXPECT_EQ(r->command, "ping");
    EXPECT_EQ(r->argument, "17");
  }
}

}  // namespace
}  // namespace dprelay::control
