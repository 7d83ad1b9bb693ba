#include "proto/trusted_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dprelay {

absl::Status CheckTrustedDirectory(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": cannot stat directory: ", std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode)) {
    // Whoever controls the link's directory could retarget it between our check and our use.
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": is a symbolic link; give the directory's real path"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, ": not a directory"));
  }
  const uid_t self = geteuid();
  if (st.st_uid != self && st.st_uid != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, ": owned by uid ", st.st_uid, ", not by us (uid ", self,
                     ") or root; chown it or choose another directory"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: mode %04o lets group or others write into it; chmod go-w %s", dir,
                        st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

absl::Status EnsureTrustedDirectory(const std::string& dir, mode_t mode) {
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": cannot create directory: ", std::strerror(errno)));
  }
  return CheckTrustedDirectory(dir);
}

}  // namespace dprelay
