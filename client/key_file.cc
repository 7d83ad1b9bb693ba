#include "client/key_file.h"

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proto/file_io.h"

namespace dprelay::client {
namespace {

// A key file is one short line; anything much larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

}  // namespace

absl::StatusOr<DiscoKeyPair> ReadKeyFile(const std::string& path) {
  const std::string what = absl::StrCat("key file ", path);
  absl::StatusOr<std::string> text = ReadSmallFile(path, kMaxKeyFileBytes);
  if (!text.ok()) {
    // DataLoss from an oversized file means "not a key file": a bad argument, like bad text.
    const absl::StatusCode code = text.status().code() == absl::StatusCode::kDataLoss
                                      ? absl::StatusCode::kInvalidArgument
                                      : text.status().code();
    return absl::Status(code, absl::StrCat("key file ", text.status().message()));
  }
  // Debian's Abseil has its own string_view type, so convert explicitly.
  const absl::string_view trimmed = absl::StripAsciiWhitespace(*text);
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
