// A peer of another uid for the SO_PEERCRED tests: a child process that drops to `uid` and
// then connects to (or listens on) a unix socket, and stays until released. Needs root (the
// unit tier runs as root).
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace dprelay::testing {

// An unprivileged uid that owns nothing here.
inline constexpr uid_t kNobodyUid = 65534;

class ForeignPeer {
 public:
  enum class Role { kConnect, kListen };

  // The child runs as `uid`: with kConnect it connects to `path` (SOCK_STREAM or
  // SOCK_SEQPACKET per `type`); with kListen it binds `path` (mode 0666) and listens. The
  // parent returns once the child has done so.
  ForeignPeer(Role role, const std::string& path, int type, uid_t uid = kNobodyUid) {
    int ready[2];
    EXPECT_EQ(pipe(ready), 0);
    EXPECT_EQ(pipe(release_), 0);
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      close(release_[1]);
      if (setgid(uid) != 0 || setuid(uid) != 0) {
        _exit(2);
      }
      int fd = socket(AF_UNIX, type, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
      int rc;
      if (role == Role::kConnect) {
        rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
      } else {
        umask(0);
        rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
        if (rc == 0) {
          rc = listen(fd, 4);
        }
      }
      const char status = rc == 0 ? 'y' : 'n';
      (void)!write(ready[1], &status, 1);
      char c;
      (void)!read(release_[0], &c, 1);  // until the parent is done with us
      _exit(0);
    }
    close(ready[1]);
    char status = 0;
    EXPECT_EQ(read(ready[0], &status, 1), 1);
    close(ready[0]);
    ok_ = status == 'y';
  }
  ~ForeignPeer() {
    close(release_[1]);
    close(release_[0]);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  ForeignPeer(const ForeignPeer&) = delete;
  ForeignPeer& operator=(const ForeignPeer&) = delete;

  // Whether the child's connect (or bind and listen) succeeded.
  bool ok() const { return ok_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int release_[2] = {-1, -1};
  bool ok_ = false;
};

}  // namespace dprelay::testing
