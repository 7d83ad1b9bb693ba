// The dataplane's control socket (dataplane/ipc_server.h): created with the secure helper, so
// it is 0600 from bind, and refuses to follow a symlink or use an untrusted directory.
#include "dataplane/ipc_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/listen_mode_probe.h"
#include "tests/unit/temp_dir.h"

namespace dprelay {
namespace {

using ::testing::HasSubstr;
using dprelay::testing::ScratchDir;

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

}  // namespace
}  // namespace dprelay
