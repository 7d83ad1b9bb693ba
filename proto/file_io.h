// Writing the small state files both processes keep (keys, LamportID, endpoint lists) so that a
// crash at any moment leaves either the old file or the new one, never a torn one.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace dprelay {

// Writes content to a temporary file beside path with the given mode, fsyncs it, renames it
// over path and fsyncs the directory. Errors name the path and the step that failed.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content, int mode);

}  // namespace dprelay
