// The client's private key file: one line "privkey:<64 hex>\n", mode 0600.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/key.h"

namespace dprelay::client {

// Reads the private key and derives the public key. Errors name the file.
absl::StatusOr<DiscoKeyPair> ReadKeyFile(const std::string& path);

// Writes `priv` to `path` with mode 0600 (whatever the umask), via a temporary file and a
// rename so a reader never sees a half-written key. Refuses to replace an existing file
// unless `overwrite`. Errors name the file.
absl::Status WriteKeyFile(const std::string& path, const DiscoPrivateKey& priv, bool overwrite);

}  // namespace dprelay::client
