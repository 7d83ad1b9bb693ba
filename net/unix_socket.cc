#include "net/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/trusted_dir.h"

namespace dprelay::net {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path, const std::string& flag) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": path empty or longer than ", sizeof(addr.sun_path) - 1, " bytes"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

namespace {

// The directory the socket file goes in ("." for a bare name).
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// True if something accepts connections on the socket file at `addr` (another instance).
bool SomeoneListens(const sockaddr_un& addr, int type) {
  UniqueFd probe(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe.valid()) {
    return false;
  }
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    return true;
  }
  return errno == EAGAIN;  // alive, its backlog full
}

// Clears the way for bind: nothing there, or a stale socket of ours (removed). Anything else
// (a symlink, a file, someone else's socket, a live socket) is refused and left as it is.
absl::Status RemoveStaleSocket(const std::string& path, const sockaddr_un& addr, int type,
                               const std::string& flag) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": cannot stat ", path, ": ", std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": ", path, " is a symbolic link; refusing to follow or replace it"));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": ", path, " exists and is not a socket; refusing to replace it"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(flag, ": ", path, " is a socket of uid ",
                                                      st.st_uid,
                                                      ", not ours; refusing to "
                                                      "replace it"));
  }
  if (SomeoneListens(addr, type)) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": ", path, " is in use by a running process"));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": cannot remove stale socket ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Gives `group` read and write on the socket file bind just created (0600, ours): chgrp, then
// chmod 0660, neither following a symlink, then checks what the file now is. Its directory is
// trusted, so nobody but us or root can have swapped the file meanwhile.
absl::Status OpenToGroup(const std::string& path, gid_t group, const std::string& flag) {
  if (fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), group, AT_SYMLINK_NOFOLLOW) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": cannot give ", path, " to gid ", group, ": ", std::strerror(errno)));
  }
  if (fchmodat(AT_FDCWD, path.c_str(), kGroupSocketMode, AT_SYMLINK_NOFOLLOW) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": cannot make ", path, " mode 0660: ", std::strerror(errno)));
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
      st.st_gid != group || (st.st_mode & 07777) != kGroupSocketMode) {
    return absl::FailedPreconditionError(absl::StrCat(
        flag, ": ", path, " is not the socket of ours, gid ", group, ", mode 0660 it should be"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UnixListener> ListenUnix(const std::string& path, int type, int backlog,
                                        const std::string& flag, std::optional<gid_t> group) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path, flag);
  if (!addr.ok()) {
    return addr.status();
  }
  if (absl::Status s = EnsureTrustedDirectory(DirectoryOf(path), kSocketDirMode); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(flag, ": ", s.message()));
  }
  if (absl::Status s = RemoveStaleSocket(path, *addr, type, flag); !s.ok()) {
    return s;
  }
  UniqueFd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat(flag, ": socket(AF_UNIX): ", std::strerror(errno)));
  }
  // bind creates the file with 0777 & ~umask: under 0177 it is 0600 from its first instant,
  // so there is no moment another user could connect, and no chmod (which would follow a
  // symlink swapped in meanwhile). The umask is process-wide; nothing else here creates files
  // while we listen at start-up.
  const mode_t old_umask = umask(0177);
  const int bound = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  const int bind_errno = errno;
  umask(old_umask);
  if (bound != 0) {
    return absl::FailedPreconditionError(absl::StrCat(flag, ": bind: ", std::strerror(bind_errno)));
  }
  SocketFile file(path);  // ours from here on: removed again if listen fails
  if (group.has_value()) {
    if (absl::Status s = OpenToGroup(path, *group, flag); !s.ok()) {
      return s;
    }
  }
  if (listen(fd.get(), backlog) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(flag, ": listen: ", std::strerror(errno)));
  }
  return UnixListener{.fd = std::move(fd), .file = std::move(file)};
}

SocketFile::SocketFile(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
}

SocketFile& SocketFile::operator=(SocketFile&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, std::string());
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

void SocketFile::Remove() {
  if (path_.empty()) {
    return;
  }
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    unlink(path_.c_str());
  }
  path_.clear();
}

}  // namespace dprelay::net
