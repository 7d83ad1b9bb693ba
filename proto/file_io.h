// Writing the small state files both processes keep (keys, LamportID, endpoint lists) so that a
// crash at any moment leaves either the old file or the new one, never a torn one.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dprelay {

// Reads a file expected to be small (a key, a counter, a list). NotFound when it does not
// exist, PermissionDenied when it cannot be opened, DataLoss when reading fails or it is longer
// than max_len; every message starts with the path.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_len);

// ReadSmallFile for a file holding a secret (a private key): refused with PermissionDenied,
// naming the file, its mode and the fix, when its mode gives group or others any access. The
// mode is taken from the opened file itself, so it is the file that is read.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_len);

// Writes content to a temporary file beside path with the given mode, fsyncs it, renames it
// over path and fsyncs the directory. Errors name the path and the step that failed.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content, int mode);

}  // namespace dprelay
