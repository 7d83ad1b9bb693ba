#include "client/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dprelay::client {
namespace {

// A key file is one short line; anything much larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

absl::Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoStatus(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DiscoKeyPair> ReadKeyFile(const std::string& path) {
  const std::string what = absl::StrCat("key file ", path);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(errno, what);
  }
  std::string text;
  char buf[512];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int err = errno;
      close(fd);
      return ErrnoStatus(err, what);
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(what, ": too large to be a key file"));
    }
  }
  close(fd);
  // Debian's Abseil has its own string_view type, so convert explicitly.
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  absl::StatusOr<DiscoPrivateKey> priv =
      ParsePrivateKey(std::string_view(trimmed.data(), trimmed.size()));
  if (!priv.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": expected one line privkey:<64 hex digits>: ", priv.status().message()));
  }
  return KeyPairFromPrivate(*priv);
}

absl::Status WriteKeyFile(const std::string& path, const DiscoPrivateKey& priv, bool overwrite) {
  const std::string what = absl::StrCat("key file ", path);
  if (!overwrite) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(what, ": already exists (refusing to replace a key)"));
    }
  }
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoStatus(errno, absl::StrCat(what, " (temporary ", tmp, ")"));
  }
  // The umask can only remove bits, but be explicit: the key must never be group-readable.
  absl::Status status = fchmod(fd, 0600) == 0 ? absl::OkStatus() : ErrnoStatus(errno, "fchmod");
  if (status.ok()) {
    status = WriteAll(fd, absl::StrCat(FormatPrivateKey(priv), "\n"));
  }
  if (status.ok() && fsync(fd) != 0) {
    status = ErrnoStatus(errno, "fsync");
  }
  if (close(fd) != 0 && status.ok()) {
    status = ErrnoStatus(errno, "close");
  }
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(errno, "rename");
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace dprelay::client
