// Secure unix-socket creation (net/unix_socket.h) and the trusted-directory rule
// (proto/trusted_dir.h): exact errors, and that nothing refused is touched.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/unix_socket.h"
#include "proto/trusted_dir.h"
#include "tests/unit/listen_mode_probe.h"
#include "tests/unit/temp_dir.h"

namespace dprelay::net {
namespace {

using dprelay::testing::ScratchDir;
using ::testing::HasSubstr;

// An unprivileged uid that owns nothing here.
constexpr uid_t kNobody = 65534;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 07777);
}

absl::StatusOr<UnixListener> Listen(const std::string& path) {
  return ListenUnix(path, SOCK_STREAM, 4, "--admin_socket=" + path);
}

TEST(UnixSocketTest, SymlinkedSocketPathIsRefusedAndItsTargetUntouched) {
  ScratchDir tmp;
  const std::string victim = tmp.File("victim");
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(chmod(victim.c_str(), 0644), 0);
  const std::string sock = tmp.File("control.sock");
  ASSERT_EQ(symlink(victim.c_str(), sock.c_str()), 0);

  absl::StatusOr<UnixListener> l = Listen(sock);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), absl::StrFormat("--admin_socket=%s: %s is a symbolic link; "
                                                  "refusing to follow or replace it",
                                                  sock, sock));
  EXPECT_EQ(Slurp(victim), "precious\n");
  EXPECT_EQ(Mode(victim), 0644);
  struct stat st {};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link itself is left where it was";
}

TEST(UnixSocketTest, AFileInTheWayIsRefusedAndLeftAlone) {
  ScratchDir tmp;
  const std::string sock = tmp.File("dp.sock");
  std::ofstream(sock) << "not a socket\n";
  absl::StatusOr<UnixListener> l = Listen(sock);
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()),
              HasSubstr(sock + " exists and is not a socket; refusing to replace it"));
  EXPECT_EQ(Slurp(sock), "not a socket\n");
}

TEST(UnixSocketTest, GroupWritableDirectoryIsRefused) {
  ScratchDir tmp;
  const std::string dir = tmp.File("run");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0770), 0);
  const std::string sock = dir + "/control.sock";
  absl::StatusOr<UnixListener> l = Listen(sock);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(l.status().message(),
            absl::StrFormat("--admin_socket=%s: %s: mode 0770 lets group or others write into "
                            "it; chmod go-w %s",
                            sock, dir, dir));
  EXPECT_NE(access(sock.c_str(), F_OK), 0) << "nothing was created";
}

TEST(UnixSocketTest, WorldWritableStickyDirectoryIsRefused) {
  ScratchDir tmp;
  const std::string dir = tmp.File("tmp");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);  // like /tmp
  absl::StatusOr<UnixListener> l = Listen(dir + "/x.sock");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()), HasSubstr(dir + ": mode 1777 lets group or"));
}

TEST(UnixSocketTest, DirectoryOwnedByAnotherUserIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  ScratchDir tmp;
  const std::string dir = tmp.File("theirs");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(chown(dir.c_str(), kNobody, kNobody), 0);
  absl::StatusOr<UnixListener> l = Listen(dir + "/x.sock");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()),
              HasSubstr(absl::StrFormat("%s: owned by uid %d, not by us (uid 0) or root; chown it "
                                        "or choose another directory",
                                        dir, kNobody)));
}

TEST(UnixSocketTest, SymlinkedDirectoryIsRefused) {
  ScratchDir tmp;
  ASSERT_EQ(mkdir(tmp.File("real").c_str(), 0700), 0);
  ASSERT_EQ(symlink(tmp.File("real").c_str(), tmp.File("link").c_str()), 0);
  absl::StatusOr<UnixListener> l = Listen(tmp.File("link") + "/x.sock");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()),
              HasSubstr(tmp.File("link") + ": is a symbolic link; give the directory's real path"));
  EXPECT_NE(access((tmp.File("real") + "/x.sock").c_str(), F_OK), 0);
}

TEST(UnixSocketTest, MissingDirectoryIsCreatedTrusted) {
  ScratchDir tmp;
  const std::string dir = tmp.File("dprelay");
  absl::StatusOr<UnixListener> l = Listen(dir + "/control.sock");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(Mode(dir) & 022, 0);
  EXPECT_TRUE(CheckTrustedDirectory(dir).ok());
}

// bind creates the file under a 0177 umask: 0600 is what exists at the first moment anyone
// can see it (observed at listen(), which comes right after bind), however loose the process
// umask, and no chmod is needed afterwards.
TEST(UnixSocketTest, SocketIsMode0600FromTheMomentItExists) {
  ScratchDir tmp;
  const std::string sock = tmp.File("control.sock");
  const mode_t old = umask(0);
  dprelay::testing::g_mode_at_listen = -1;
  absl::StatusOr<UnixListener> l = Listen(sock);
  umask(old);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(dprelay::testing::g_mode_at_listen, 0600);
  EXPECT_EQ(Mode(sock) & 0777, 0600);
}

TEST(UnixSocketTest, AStaleSocketOfOursIsReplacedALiveOneIsNot) {
  ScratchDir tmp;
  const std::string sock = tmp.File("dp.sock");
  {
    // What a crash leaves behind: the socket file of a process that is gone.
    UniqueFd crashed(socket(AF_UNIX, SOCK_STREAM, 0));
    absl::StatusOr<sockaddr_un> sa = UnixAddress(sock, "test");
    ASSERT_TRUE(sa.ok());
    ASSERT_EQ(bind(crashed.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)), 0);
  }
  ASSERT_EQ(access(sock.c_str(), F_OK), 0);
  absl::StatusOr<UnixListener> first = Listen(sock);
  ASSERT_TRUE(first.ok()) << first.status();
  // A second instance while the first listens: refused, the first keeps its socket.
  absl::StatusOr<UnixListener> second = Listen(sock);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(sock + " is in use by a running process"));
  EXPECT_EQ(access(sock.c_str(), F_OK), 0);
}

TEST(UnixSocketTest, TheSocketFileGoesWithTheListenerUnlessReplaced) {
  ScratchDir tmp;
  const std::string sock = tmp.File("dp.sock");
  {
    absl::StatusOr<UnixListener> l = Listen(sock);
    ASSERT_TRUE(l.ok());
  }
  EXPECT_NE(access(sock.c_str(), F_OK), 0);
  // Someone removed our file and another instance took the path: ours must not remove theirs.
  absl::StatusOr<UnixListener> old_one = Listen(sock);
  ASSERT_TRUE(old_one.ok());
  ASSERT_EQ(unlink(sock.c_str()), 0);
  absl::StatusOr<UnixListener> new_one = Listen(sock);
  ASSERT_TRUE(new_one.ok()) << new_one.status();
  *old_one = UnixListener();
  EXPECT_EQ(access(sock.c_str(), F_OK), 0) << "the new instance's socket is still there";
}

TEST(UnixSocketTest, PathTooLongNamesTheFlag) {
  const std::string path = "/run/" + std::string(200, 'x');
  absl::StatusOr<UnixListener> l = Listen(path);
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()),
              HasSubstr("--admin_socket=" + path + ": path empty or longer than 107 bytes"));
}

}  // namespace
}  // namespace dprelay::net
