// SO_PEERCRED (net/peer_cred.h): who is at the other end, and the root-or-same-uid rule.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/peer_cred.h"
#include "net/unique_fd.h"
#include "net/unix_socket.h"
#include "tests/unit/foreign_peer.h"
#include "tests/unit/temp_dir.h"

namespace dprelay::net {
namespace {

using dprelay::testing::ForeignPeer;
using dprelay::testing::kNobodyUid;

TEST(PeerCredTest, ReturnsOurUidGidAndPid) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]);
  UniqueFd b(pair[1]);
  absl::StatusOr<PeerCred> cred = GetPeerCred(a.get());
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->uid, geteuid());
  EXPECT_EQ(cred->gid, getegid());
  EXPECT_EQ(cred->pid, getpid());
  EXPECT_TRUE(CheckTrustedPeer(a.get()).ok());
}

TEST(PeerCredTest, NotASocketIsAnError) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd r(p[0]);
  UniqueFd w(p[1]);
  EXPECT_FALSE(GetPeerCred(r.get()).ok());
  EXPECT_EQ(CheckTrustedPeer(r.get()).code(), absl::StatusCode::kPermissionDenied);
}

TEST(PeerCredTest, APeerOfAnotherUidIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  dprelay::testing::ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  const std::string path = tmp.File("s.sock");
  absl::StatusOr<UnixListener> l = ListenUnix(path, SOCK_STREAM, 4, "test");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);  // a widened mode, so that nobody gets this far
  ForeignPeer peer(ForeignPeer::Role::kConnect, path, SOCK_STREAM);
  ASSERT_TRUE(peer.ok());
  UniqueFd conn(accept(l->fd.get(), nullptr, nullptr));
  ASSERT_TRUE(conn.valid());
  absl::StatusOr<PeerCred> cred = GetPeerCred(conn.get());
  ASSERT_TRUE(cred.ok());
  EXPECT_EQ(cred->uid, kNobodyUid);
  EXPECT_EQ(cred->pid, peer.pid());
  absl::Status s = CheckTrustedPeer(conn.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), absl::StrFormat("peer runs as uid %d (pid %d), neither root nor our uid 0",
                                         kNobodyUid, peer.pid()));
}

// A given group admits a peer of another uid whose gid is that group, and names it when not.
TEST(PeerCredTest, APeerOfTheGivenGroupIsTrusted) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  dprelay::testing::ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  const std::string path = tmp.File("s.sock");
  absl::StatusOr<UnixListener> l = ListenUnix(path, SOCK_STREAM, 4, "test", kNobodyUid);
  ASSERT_TRUE(l.ok()) << l.status();
  ForeignPeer peer(ForeignPeer::Role::kConnect, path, SOCK_STREAM);  // gid = kNobodyUid
  ASSERT_TRUE(peer.ok());
  UniqueFd conn(accept(l->fd.get(), nullptr, nullptr));
  ASSERT_TRUE(conn.valid());
  EXPECT_TRUE(CheckTrustedPeer(conn.get(), kNobodyUid).ok());
  absl::Status s = CheckTrustedPeer(conn.get(), kNobodyUid - 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            absl::StrFormat("peer runs as uid %d gid %d (pid %d), neither root nor our uid 0 "
                            "nor group %d",
                            kNobodyUid, kNobodyUid, peer.pid(), kNobodyUid - 1));
}

TEST(PeerCredTest, LookupGroupTakesANameOrANumber) {
  absl::StatusOr<gid_t> root = LookupGroup("root", "--ipc_group=root");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, 0u);
  absl::StatusOr<gid_t> number = LookupGroup("4242", "--ipc_group=4242");
  ASSERT_TRUE(number.ok());
  EXPECT_EQ(*number, 4242u);
  absl::StatusOr<gid_t> missing =
      LookupGroup("no-such-group-here", "--ipc_group=no-such-group-here");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "--ipc_group=no-such-group-here: no such group \"no-such-group-here\" (getent group "
            "no-such-group-here)");
}

}  // namespace
}  // namespace dprelay::net
