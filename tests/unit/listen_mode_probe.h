// Observes the mode of a unix socket file at the moment listen() is called on it, i.e. right
// after bind created it and before anything could chmod it: a test that includes this header
// (in exactly one file of its executable) interposes listen() for the code it links.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>

namespace dprelay::testing {

// The mode bits seen at the last listen() on a unix socket with a path; -1 before any.
inline std::atomic<int> g_mode_at_listen{-1};

}  // namespace dprelay::testing

extern "C" int listen(int fd, int backlog) noexcept {
  sockaddr_un sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0 && sa.sun_family == AF_UNIX &&
      sa.sun_path[0] != '\0') {
    struct stat st {};
    if (lstat(sa.sun_path, &st) == 0) {
      dprelay::testing::g_mode_at_listen = static_cast<int>(st.st_mode & 07777);
    }
  }
  return static_cast<int>(syscall(SYS_listen, fd, backlog));
}
