#include "net/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dprelay::net {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path, const std::string& flag) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": path empty or longer than ", sizeof(addr.sun_path) - 1, " bytes"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

absl::StatusOr<UnixListener> ListenUnix(const std::string& path, int type, int backlog,
                                        const std::string& flag) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path, flag);
  if (!addr.ok()) {
    return addr.status();
  }
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(absl::StrCat(flag, ": cannot create directory ", dir,
                                                      ": ", std::strerror(errno)));
    }
  }
  UniqueFd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat(flag, ": socket(AF_UNIX): ", std::strerror(errno)));
  }
  unlink(path.c_str());  // a stale socket from a previous run
  // Created 0600 from the start: no window in which another user could connect.
  const mode_t old_umask = umask(0177);
  const int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  umask(old_umask);
  if (rc != 0 || listen(fd.get(), backlog) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": bind/listen: ", std::strerror(errno)));
  }
  chmod(path.c_str(), 0600);
  return UnixListener{.fd = std::move(fd), .file = SocketFile(path)};
}

SocketFile& SocketFile::operator=(SocketFile&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, std::string());
  }
  return *this;
}

void SocketFile::Remove() {
  if (!path_.empty()) {
    unlink(path_.c_str());
    path_.clear();
  }
}

}  // namespace dprelay::net
