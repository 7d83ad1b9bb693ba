// The dataplane's control socket (dataplane/ipc_server.h): created with the secure helper, so
// it is 0600 from bind, and refuses to follow a symlink or use an untrusted directory; and only
// root or our uid may connect as control.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "dataplane/ipc_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/foreign_peer.h"
#include "tests/unit/listen_mode_probe.h"
#include "tests/unit/temp_dir.h"

namespace dprelay {
namespace {

using dprelay::testing::ScratchDir;
using ::testing::HasSubstr;

TEST(IpcServerTest, SocketIsMode0600FromBind) {
  ScratchDir tmp;
  const std::string sock = tmp.File("dataplane.sock");
  const mode_t old = umask(0);
  dprelay::testing::g_mode_at_listen = -1;
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock);
  umask(old);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(dprelay::testing::g_mode_at_listen, 0600) << "a window with a wider mode";
  struct stat st {};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server->reset();
  EXPECT_NE(access(sock.c_str(), F_OK), 0) << "removed at exit";
}

TEST(IpcServerTest, SymlinkAtTheSocketPathIsRefusedAndItsTargetUntouched) {
  ScratchDir tmp;
  const std::string victim = tmp.File("victim");
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(chmod(victim.c_str(), 0644), 0);
  const std::string sock = tmp.File("dataplane.sock");
  ASSERT_EQ(symlink(victim.c_str(), sock.c_str()), 0);
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().message(), "--ipc_socket=" + sock + ": " + sock +
                                           " is a symbolic link; refusing to follow or replace it");
  struct stat st {};
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  std::ifstream in(victim);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "precious");
}

TEST(IpcServerTest, GroupWritableSocketDirectoryIsRefused) {
  ScratchDir tmp;
  const std::string dir = tmp.File("run");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0775), 0);
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(dir + "/dataplane.sock");
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr(dir + ": mode 0775 lets group or others write into it; chmod go-w " + dir));
}

// SO_PEERCRED: a process of another uid that reaches the socket (here through a widened mode)
// is refused and never replaces control's connection; root's control is accepted.
TEST(IpcServerTest, AControlPeerOfAnotherUidIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  const std::string sock = tmp.File("dataplane.sock");
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_EQ(chmod(sock.c_str(), 0666), 0);
  int connects = 0;
  auto poll_once = [&] { (*server)->Poll([&] { ++connects; }, [](ipc::Message&&) {}); };
  {
    dprelay::testing::ForeignPeer nobody(dprelay::testing::ForeignPeer::Role::kConnect, sock,
                                         SOCK_SEQPACKET);
    ASSERT_TRUE(nobody.ok());
    poll_once();
    EXPECT_EQ(connects, 0);
    EXPECT_FALSE((*server)->connected());
    EXPECT_EQ((*server)->refused_peers(), 1u);
  }
  net::UniqueFd control(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  absl::StatusOr<sockaddr_un> sa = net::UnixAddress(sock, "test");
  ASSERT_EQ(connect(control.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)), 0);
  poll_once();
  EXPECT_EQ(connects, 1);
  EXPECT_TRUE((*server)->connected());
  EXPECT_EQ((*server)->refused_peers(), 1u);
}

// --ipc_group (dprelay-control running as user dprelay, the dataplane as root): the socket is
// 0660 of that group from bind, a process of that group connects and is accepted as control;
// without the flag the same process cannot even connect.
TEST(IpcServerTest, AControlPeerOfTheIpcGroupConnectsAndIsAccepted) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  using dprelay::testing::ForeignPeer;
  using dprelay::testing::kNobodyUid;  // ForeignPeer's child runs with gid = uid
  ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  const std::string sock = tmp.File("dataplane.sock");
  {
    absl::StatusOr<std::unique_ptr<IpcServer>> plain = IpcServer::Listen(sock);
    ASSERT_TRUE(plain.ok()) << plain.status();
    ForeignPeer outsider(ForeignPeer::Role::kConnect, sock, SOCK_SEQPACKET);
    EXPECT_FALSE(outsider.ok()) << "0600 of root: connect must fail with EACCES";
  }
  const mode_t old = umask(0);
  dprelay::testing::g_mode_at_listen = -1;
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock, kNobodyUid);
  umask(old);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(dprelay::testing::g_mode_at_listen, 0660) << "a window with a wider mode";
  struct stat st {};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, kNobodyUid);
  int connects = 0;
  ForeignPeer member(ForeignPeer::Role::kConnect, sock, SOCK_SEQPACKET);
  ASSERT_TRUE(member.ok());
  (*server)->Poll([&] { ++connects; }, [](ipc::Message&&) {});
  EXPECT_EQ(connects, 1);
  EXPECT_TRUE((*server)->connected());
  EXPECT_EQ((*server)->refused_peers(), 0u);
}

// Another group that reaches the socket (a widened mode) is still refused by SO_PEERCRED.
TEST(IpcServerTest, APeerOutsideTheIpcGroupIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  using dprelay::testing::ForeignPeer;
  using dprelay::testing::kNobodyUid;
  ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  const std::string sock = tmp.File("dataplane.sock");
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock, kNobodyUid);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_EQ(chmod(sock.c_str(), 0666), 0);
  ForeignPeer other(ForeignPeer::Role::kConnect, sock, SOCK_SEQPACKET, kNobodyUid - 1);
  ASSERT_TRUE(other.ok());
  (*server)->Poll([] {}, [](ipc::Message&&) {});
  EXPECT_FALSE((*server)->connected());
  EXPECT_EQ((*server)->refused_peers(), 1u);
}

// Backpressure: a housekeeping pass that expires thousands of sessions at once fills the
// SEQPACKET buffer long before control reads. The messages wait, in order, and the link stays
// up; control reads every one once it gets to them (the dataplane once dropped the link here
// and control resynchronised, reinstalling the sessions that had just expired).
TEST(IpcServerTest, AFullSocketQueuesMessagesInOrderAndKeepsTheLink) {
  ScratchDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0700), 0);
  const std::string sock = tmp.File("dataplane.sock");
  absl::StatusOr<std::unique_ptr<IpcServer>> server = IpcServer::Listen(sock);
  ASSERT_TRUE(server.ok()) << server.status();
  net::UniqueFd control(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  absl::StatusOr<sockaddr_un> sa = net::UnixAddress(sock, "test");
  ASSERT_EQ(connect(control.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)), 0);
  auto poll_once = [&] { (*server)->Poll([] {}, [](ipc::Message&&) {}); };
  poll_once();
  ASSERT_TRUE((*server)->connected());

  constexpr uint32_t kExpiries = 5000;
  for (uint32_t vni = 1; vni <= kExpiries; ++vni) {
    (*server)->Send(ipc::SessionExpired{.vni = vni});
  }
  EXPECT_TRUE((*server)->connected());
  EXPECT_GT((*server)->queued_messages(), 0u) << "5000 messages fit in the socket buffer?";
  EXPECT_EQ((*server)->queue_overflows(), 0u);

  // Control reads as the dataplane flushes: every expiry arrives once, in order.
  std::vector<uint8_t> buf(ipc::kMaxMessageLen);
  uint32_t next = 1;
  for (int round = 0; round < 10000 && next <= kExpiries; ++round) {
    poll_once();
    for (;;) {
      const ssize_t n = recv(control.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      absl::StatusOr<ipc::Message> msg =
          ipc::Decode(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
      ASSERT_TRUE(msg.ok());
      ASSERT_EQ(std::get<ipc::SessionExpired>(*msg).vni, next);
      ++next;
    }
  }
  EXPECT_EQ(next, kExpiries + 1);
  EXPECT_EQ((*server)->pending_messages(), 0u);
  EXPECT_TRUE((*server)->connected());
}

}  // namespace
}  // namespace dprelay
