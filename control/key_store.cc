#include "control/key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/log.h"
#include "proto/trusted_dir.h"

namespace dprelay::control {
namespace {

// Key and counter files are a line each; anything bigger is not ours.
constexpr size_t kMaxStateFileLen = 4096;

std::string ErrnoText(int err) { return std::strerror(err); }

std::string JoinPath(const std::string& dir, absl::string_view name) {
  if (!dir.empty() && dir.back() == '/') {
    return absl::StrCat(dir, name);
  }
  return absl::StrCat(dir, "/", name);
}

// Closes an fd on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the result (close can report a deferred write error).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status EnsureDirectory(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("state directory: empty path");
  }
  // Missing parents are created like `mkdir -p` would (0755 less the umask); only the state
  // directory itself is private.
  for (size_t slash = dir.find('/', 1); slash != std::string::npos;
       slash = dir.find('/', slash + 1)) {
    std::string parent = dir.substr(0, slash);
    if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": cannot create state directory: ", parent, ": ", ErrnoText(errno)));
    }
  }
  if (mkdir(dir.c_str(), 0700) == 0) {
    DPRELAY_LOG_INFO("created state directory %s", dir);
  } else if (errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": cannot create state directory: ", ErrnoText(errno)));
  }
  // Whoever can write into it can replace our keys (or the LamportID mark): refuse unless it
  // is ours or root's and closed to group and others.
  if (absl::Status trusted = CheckTrustedDirectory(dir); !trusted.ok()) {
    return absl::Status(trusted.code(), absl::StrCat("state directory ", trusted.message()));
  }
  return absl::OkStatus();
}

// Loads a private key file, generating it first if it does not exist, into a SecretBox. Every
// transient copy of the key (file text, parsed and generated key) is wiped on the way.
absl::StatusOr<SecretBox<DiscoKeyPair>> LoadOrGenerateKey(const std::string& path) {
  DiscoKeyPair pair;
  absl::Cleanup wipe_pair = [&pair] { Wipe(&pair); };
  absl::StatusOr<std::string> content = ReadSecretFile(path, kMaxStateFileLen);
  if (absl::IsNotFound(content.status())) {
    pair = GenerateKeyPair();
    std::string text = absl::StrCat(FormatPrivateKey(pair.priv), "\n");
    absl::Status written = WriteFileAtomically(path, text, 0600);
    Wipe(&text);
    if (!written.ok()) {
      return written;
    }
    DPRELAY_LOG_INFO("generated %s (public %s)", path, FormatDiscoKey(pair.pub));
    return SecretBox<DiscoKeyPair>::Make(pair);
  }
  if (!content.ok()) {
    return content.status();
  }
  absl::Cleanup wipe_content = [&content] { Wipe(&*content); };
  absl::string_view text = absl::StripAsciiWhitespace(*content);
  absl::StatusOr<DiscoPrivateKey> priv =
      ParsePrivateKey(std::string_view(text.data(), text.size()));
  if (!priv.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, ": malformed private key: ", priv.status().message()));
  }
  pair = KeyPairFromPrivate(*priv);
  Wipe(&*priv);
  return SecretBox<DiscoKeyPair>::Make(pair);
}

absl::StatusOr<uint64_t> LoadLamportFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadSmallFile(path, kMaxStateFileLen);
  if (absl::IsNotFound(content.status())) {
    return 0;
  }
  if (!content.ok()) {
    return content.status();
  }
  absl::string_view text = absl::StripAsciiWhitespace(*content);
  uint64_t value = 0;
  // SimpleAtoi accepts a leading '+'; insist on digits only.
  if (text.empty() || text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(text, &value)) {
    return absl::DataLossError(absl::StrCat(path,
                                            ": malformed: expected a decimal LamportID, got \"",
                                            absl::CEscape(text.substr(0, 64)), "\""));
  }
  return value;
}

}  // namespace

KeyStore::KeyStore(std::string state_dir, SecretBox<DiscoKeyPair> control_key,
                   SecretBox<DiscoKeyPair> server_disco_key, uint64_t lamport)
    : state_dir_(std::move(state_dir)),
      control_key_(std::move(control_key)),
      server_disco_key_(std::move(server_disco_key)),
      lamport_(lamport) {}

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::Open(const KeyStoreConfig& config_in) {
  KeyStoreConfig config = config_in;
  while (config.state_dir.size() > 1 && config.state_dir.back() == '/') {
    config.state_dir.pop_back();
  }
  if (absl::Status s = EnsureDirectory(config.state_dir); !s.ok()) {
    return s;
  }
  absl::StatusOr<SecretBox<DiscoKeyPair>> control_key =
      LoadOrGenerateKey(JoinPath(config.state_dir, kControlKeyFile));
  if (!control_key.ok()) {
    return control_key.status();
  }
  absl::StatusOr<SecretBox<DiscoKeyPair>> server_key =
      LoadOrGenerateKey(JoinPath(config.state_dir, kServerDiscoKeyFile));
  if (!server_key.ok()) {
    return server_key.status();
  }
  if ((*control_key)->pub == (*server_key)->pub) {
    // Only a hand-edited state directory gets here; the two roles must not share a key.
    return absl::FailedPreconditionError(absl::StrCat(
        JoinPath(config.state_dir, kServerDiscoKeyFile), ": same key as ", kControlKeyFile));
  }
  absl::StatusOr<uint64_t> lamport = LoadLamportFile(JoinPath(config.state_dir, kLamportFile));
  if (!lamport.ok()) {
    return lamport.status();
  }
  return std::unique_ptr<KeyStore>(
      new KeyStore(config.state_dir, std::move(*control_key), std::move(*server_key), *lamport));
}

absl::Status KeyStore::StoreLamport(uint64_t high_water) {
  absl::Status s =
      WriteFileAtomically(JoinPath(state_dir_, kLamportFile), absl::StrCat(high_water, "\n"), 0600);
  if (s.ok()) {
    lamport_ = high_water;
  }
  return s;
}

}  // namespace dprelay::control
