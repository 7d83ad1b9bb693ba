#include "client/key_file.h"

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proto/file_io.h"
#include "proto/secret_box.h"

namespace dprelay::client {
namespace {

// A key file is one short line; anything much larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

}  // namespace

absl::StatusOr<DiscoKeyPair> ReadKeyFile(const std::string& path) {
  const std::string what = absl::StrCat("key file ", path);
  absl::StatusOr<std::string> text = ReadSecretFile(path, kMaxKeyFileBytes);
  if (!text.ok()) {
    // DataLoss from an oversized file means "not a key file": a bad argument, like bad text.
    const absl::StatusCode code = text.status().code() == absl::StatusCode::kDataLoss
                                      ? absl::StatusCode::kInvalidArgument
                                      : text.status().code();
    return absl::Status(code, absl::StrCat("key file ", text.status().message()));
  }
  // The key's text is wiped whichever way we leave (the pair returned is the caller's).
  absl::Cleanup wipe_text = [&text] { Wipe(&*text); };
  // Debian's Abseil has its own string_view type, so convert explicitly.
  const absl::string_view trimmed = absl::StripAsciiWhitespace(*text);
  absl::StatusOr<DiscoPrivateKey> priv =
      ParsePrivateKey(std::string_view(trimmed.data(), trimmed.size()));
  if (!priv.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": expected one line privkey:<64 hex digits>: ", priv.status().message()));
  }
  const DiscoKeyPair pair = KeyPairFromPrivate(*priv);
  Wipe(&*priv);
  return pair;
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
  std::string text = absl::StrCat(FormatPrivateKey(priv), "\n");
  absl::Status written = WriteFileAtomically(path, text, 0600);
  Wipe(&text);
  return written;
}

}  // namespace dprelay::client
