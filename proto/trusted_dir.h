// Directories whose contents we trust: the state directory (keys) and the directories our unix
// sockets live in. Whoever can write into such a directory can replace a key file or put a
// socket of their own (or a symlink) where our peer will connect, so the rule is: only we or
// root may own it, nobody else may write to it, and it is not reached through a symlink.
// Only the immediate directory is checked; its parents (root-owned /run, /var/lib) are the
// system's business.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace dprelay {

// Ok if `dir` is a real directory (lstat: not a symlink), owned by our effective uid or root,
// and not group or world writable. Errors name the directory, what is wrong and how to fix it.
absl::Status CheckTrustedDirectory(const std::string& dir);

// Creates `dir` with `mode` if it is missing (its parent must exist), then checks it as above.
absl::Status EnsureTrustedDirectory(const std::string& dir, mode_t mode);

}  // namespace dprelay
