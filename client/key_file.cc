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
#include "proto/file_io.h"

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
  return WriteFileAtomically(path, absl::StrCat(FormatPrivateKey(priv), "\n"), 0600);
}

}  // namespace dprelay::client
