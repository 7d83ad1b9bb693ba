// The loaders of files an operator or an earlier run wrote, on any content: the client's key
// file (client/key_file.h), control's state directory (control.key, lamport: KeyStore::Open),
// the runtime static endpoints (LoadRuntimeStaticEndpoints) and the policy file
// (Policy::LoadFile). Each refuses bad content with an error naming the file, never crashes,
// and what loads survives a write and a second load unchanged.
//
// Input: one selector byte (mod 5: which loader), then the file's content. The files live in a
// private directory made once per process (mode 0700, as KeyStore requires).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/key_file.h"
#include "control/key_store.h"
#include "control/policy.h"
#include "control/static_endpoints.h"
#include "proto/file_io.h"
#include "fuzz_check.h"

namespace dprelay {
namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    // On tmpfs where there is one: the loaders fsync what they write, and a disk would make
    // the file system, not the parsers, what a run measures.
    char tmpl[] = "/dev/shm/dprelay-fuzz-state-XXXXXX";
    char fallback[] = "/tmp/dprelay-fuzz-state-XXXXXX";
    std::string d;
    if (mkdtemp(tmpl) != nullptr) {
      d = tmpl;
    } else if (mkdtemp(fallback) != nullptr) {
      d = fallback;
    } else {
      std::perror("mkdtemp");
      std::abort();
    }
    // Removed at exit; libFuzzer processes may also end by signal, leaving a small directory.
    static std::string to_remove = d;
    std::atexit([] { std::system(("rm -rf '" + to_remove + "'").c_str()); });
    return d;
  }();
  return dir;
}

void WriteFile(const std::string& path, std::string_view content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
}

bool NamesFile(const absl::Status& s, const std::string& file) {
  return s.message().find(file) != std::string_view::npos;
}

void ClientKeyFile(std::string_view content) {
  const std::string path = Dir() + "/client.key";
  WriteFile(path, content);
  absl::StatusOr<DiscoKeyPair> pair = client::ReadKeyFile(path);
  if (!pair.ok()) {
    FUZZ_CHECK(NamesFile(pair.status(), path));
    return;
  }
  FUZZ_CHECK(KeyPairFromPrivate(pair->priv).pub == pair->pub);
  FUZZ_CHECK(client::WriteKeyFile(path, pair->priv, /*overwrite=*/true).ok());
  absl::StatusOr<DiscoKeyPair> back = client::ReadKeyFile(path);
  FUZZ_CHECK(back.ok() && back->pub == pair->pub);
}

// Control's state directory with `content` as control.key (which_file 0) or lamport (1). The
// directory is made once, by a first Open that generates both keys; after each run the
// generated control.key and an empty lamport are put back (no key generation, no fsync per
// run: the loaders are what is fuzzed, not the file system).
void StateDirectory(std::string_view content, int which_file) {
  static const std::string state = Dir() + "/state";
  static const std::string key_path = state + "/" + control::kControlKeyFile;
  static const std::string lamport_path = state + "/" + control::kLamportFile;
  static const std::string good_key = [] {
    FUZZ_CHECK(control::KeyStore::Open({.state_dir = state}).ok());
    absl::StatusOr<std::string> text = ReadSecretFile(key_path, 4096);
    FUZZ_CHECK(text.ok());
    return *text;
  }();
  const std::string& file = which_file == 0 ? key_path : lamport_path;
  WriteFile(file, content);
  absl::StatusOr<std::unique_ptr<control::KeyStore>> store =
      control::KeyStore::Open({.state_dir = state});
  if (store.ok()) {
    FUZZ_CHECK((*store)->control_key().pub != (*store)->server_disco_key().pub);
    FUZZ_CHECK(KeyPairFromPrivate((*store)->control_key().priv).pub ==
               (*store)->control_key().pub);
    // What loaded loads again the same.
    absl::StatusOr<std::unique_ptr<control::KeyStore>> again =
        control::KeyStore::Open({.state_dir = state});
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK((*again)->LoadLamport() == (*store)->LoadLamport());
    FUZZ_CHECK((*again)->control_key().pub == (*store)->control_key().pub);
  } else {
    FUZZ_CHECK(NamesFile(store.status(), state));
  }
  WriteFile(key_path, good_key);
  WriteFile(lamport_path, "0\n");
}

void StaticEndpoints(std::string_view content) {
  const std::string path = Dir() + "/" + control::kStaticEndpointsFile;
  WriteFile(path, content);
  auto eps = control::LoadRuntimeStaticEndpoints(Dir());
  if (!eps.ok()) {
    FUZZ_CHECK(NamesFile(eps.status(), path));
    return;
  }
  FUZZ_CHECK(eps->has_value());  // the file exists
  FUZZ_CHECK(control::StoreRuntimeStaticEndpoints(Dir(), *eps).ok());
  auto back = control::LoadRuntimeStaticEndpoints(Dir());
  FUZZ_CHECK(back.ok() && *back == *eps);
}

void PolicyFile(std::string_view content) {
  const std::string path = Dir() + "/policy";
  WriteFile(path, content);
  absl::StatusOr<control::Policy> loaded = control::Policy::LoadFile(path);
  absl::StatusOr<control::Policy> parsed = control::Policy::Parse(content, path);
  // Loading is reading plus parsing (fuzz inputs are far below the size limit): one outcome.
  FUZZ_CHECK(loaded.ok() == parsed.ok());
  if (loaded.ok()) {
    FUZZ_CHECK(loaded->size() == parsed->size() && loaded->capacity() == parsed->capacity() &&
               loaded->static_endpoints() == parsed->static_endpoints());
  } else {
    FUZZ_CHECK(loaded.status() == parsed.status());
  }
}

int FuzzOne(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::string_view content(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0:
      ClientKeyFile(content);
      break;
    case 1:
      StateDirectory(content, 0);
      break;
    case 2:
      StateDirectory(content, 1);
      break;
    case 3:
      StaticEndpoints(content);
      break;
    default:
      PolicyFile(content);
      break;
  }
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
