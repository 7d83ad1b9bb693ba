#include "proto/file_io.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dprelay {

namespace {

enum class Secret { kNo, kYes };

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_len, Secret secret) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(path, ": does not exist"));
    }
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  if (secret == Secret::kYes) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      const int err = errno;
      close(fd);
      return absl::DataLossError(absl::StrCat(path, ": cannot stat: ", std::strerror(err)));
    }
    if ((st.st_mode & 077) != 0) {
      close(fd);
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s: mode %04o gives group or others access to a private key; chmod 600 %s", path,
          st.st_mode & 07777, path));
    }
  }
  std::string content;
  char buf[512];
  if (secret == Secret::kYes) {
    // No reallocation leaves a copy of the secret behind in freed memory.
    content.reserve(max_len + sizeof(buf));
  }
  // The stack copy of a secret is wiped whichever way we leave.
  absl::Cleanup wipe_buf = [&buf] { sodium_memzero(buf, sizeof(buf)); };
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      close(fd);
      return absl::DataLossError(absl::StrCat(path, ": read failed: ", std::strerror(err)));
    }
    if (n == 0) {
      break;
    }
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > max_len) {
      close(fd);
      return absl::DataLossError(
          absl::StrCat(path, ": malformed: larger than ", max_len, " bytes"));
    }
  }
  close(fd);
  return content;
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_len) {
  return ReadFile(path, max_len, Secret::kNo);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_len) {
  return ReadFile(path, max_len, Secret::kYes);
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& content, int mode) {
  std::string dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  std::string tmp = absl::StrCat(path, ".tmp.XXXXXX");
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot create temp file: ", std::strerror(errno)));
  }
  auto fail = [&](const char* what, int err) {
    if (fd >= 0) {
      close(fd);
    }
    unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(path, ": ", what, ": ", std::strerror(err)));
  };
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    return fail("chmod", errno);
  }
  for (size_t off = 0; off < content.size();) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write", errno);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    return fail("fsync", errno);
  }
  const int closed = close(fd);
  fd = -1;
  if (closed != 0) {
    return fail("close", errno);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("rename", errno);
  }
  // Make the rename itself durable.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return absl::DataLossError(
        absl::StrCat(dir, ": cannot open directory to fsync: ", std::strerror(errno)));
  }
  const int synced = fsync(dir_fd);
  const int err = errno;
  close(dir_fd);
  if (synced != 0) {
    return absl::DataLossError(absl::StrCat(dir, ": fsync failed: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace dprelay
