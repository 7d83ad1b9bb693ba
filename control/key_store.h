// The control process's persistent state directory: its two long-term key pairs and the
// LamportID high-water mark (DESIGN.md §4 "Keys", PROTOCOL.md §0 "Persistence").
//
//   <state_dir>/control.key        privkey:<hex>\n   authenticates allocation (0x08/0x09)
//   <state_dir>/server_disco.key   privkey:<hex>\n   ServerDisco: Bind/Challenge/Answer
//   <state_dir>/lamport            <decimal>\n       highest LamportID that may have been used
//
// The directory is created with mode 0700 if missing, key files are generated on first start
// with mode 0600 (a key file others can access is refused), the directory must be ours or
// root's and closed to group and others, and every file is replaced atomically (temp file in the
// same directory, fsync, rename, fsync of the directory), so a crash leaves either the old or the
// new content.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/lamport_store.h"
#include "proto/file_io.h"
#include "proto/key.h"
#include "proto/secret_box.h"

namespace dprelay::control {

inline constexpr char kControlKeyFile[] = "control.key";
inline constexpr char kServerDiscoKeyFile[] = "server_disco.key";
inline constexpr char kLamportFile[] = "lamport";

struct KeyStoreConfig {
  std::string state_dir;
};

// Not thread-safe: owned and used by the control loop's single thread.
class KeyStore final : public LamportStore {
 public:
  // Creates the directory and missing key files, then loads everything. Errors name the
  // directory or file at fault.
  static absl::StatusOr<std::unique_ptr<KeyStore>> Open(const KeyStoreConfig& config);

  // In guarded, locked, read-only memory (proto/secret_box.h) for as long as the store lives;
  // zeroed when it goes.
  const DiscoKeyPair& control_key() const { return *control_key_; }
  const DiscoKeyPair& server_disco_key() const { return *server_disco_key_; }
  const std::string& state_dir() const { return state_dir_; }

  // LamportStore.
  uint64_t LoadLamport() const override { return lamport_; }
  absl::Status StoreLamport(uint64_t high_water) override;

 private:
  KeyStore(std::string state_dir, SecretBox<DiscoKeyPair> control_key,
           SecretBox<DiscoKeyPair> server_disco_key, uint64_t lamport);

  // All immutable after Open except lamport_, which only StoreLamport writes.
  const std::string state_dir_;
  const SecretBox<DiscoKeyPair> control_key_;
  const SecretBox<DiscoKeyPair> server_disco_key_;
  uint64_t lamport_;  // last value successfully persisted
};

}  // namespace dprelay::control
