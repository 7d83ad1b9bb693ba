// Unix-domain sockets: the address check every user needs, and a listening socket that owns
// its socket file.
#pragma once

#include <sys/types.h>
#include <sys/un.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "net/unique_fd.h"

namespace dprelay::net {

// The sockaddr_un for `path`. Errors start with `flag` ("--admin_socket=/run/x.sock") and say
// the path is empty or does not fit sun_path.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path, const std::string& flag);

// The socket file a listener created: removed when this goes away, if it is still the same
// file (another instance may have replaced it meanwhile). Move-only.
class SocketFile {
 public:
  SocketFile() = default;
  // Remembers which file `path` is now.
  explicit SocketFile(std::string path);
  ~SocketFile() { Remove(); }
  SocketFile(SocketFile&& other) noexcept
      : path_(std::exchange(other.path_, std::string())), dev_(other.dev_), ino_(other.ino_) {}
  SocketFile& operator=(SocketFile&& other) noexcept;
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  void Remove();

  std::string path_;  // empty once moved from: nothing to remove
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

struct UnixListener {
  UniqueFd fd;  // listening, non-blocking
  SocketFile file;
};

// The mode a missing socket directory is created with: others may reach the sockets in it,
// which are 0600 themselves.
inline constexpr mode_t kSocketDirMode = 0755;
// A socket opened to a group (ListenUnix's `group`).
inline constexpr mode_t kGroupSocketMode = 0660;

// A listening, non-blocking unix socket of `type` (SOCK_STREAM or SOCK_SEQPACKET) at `path`,
// created securely:
//   - its directory is created (kSocketDirMode) if missing and must be trusted
//     (proto/trusted_dir.h: ours or root's, not group/world writable, not a symlink);
//   - what is already at `path` is replaced only if it is a socket of ours that nobody
//     listens on (a stale one); a symlink is never followed, and a file, someone else's
//     socket or a live socket is refused and left untouched;
//   - the socket file is 0600 from the moment bind creates it (no chmod afterwards);
//   - with `group`, it is then given to that group with mode 0660 (kGroupSocketMode), without
//     following a symlink, and checked to be exactly that (ours, that gid, 0660).
// Errors start with `flag` ("--admin_socket=/run/dprelay/control.sock") and name the path.
absl::StatusOr<UnixListener> ListenUnix(const std::string& path, int type, int backlog,
                                        const std::string& flag,
                                        std::optional<gid_t> group = std::nullopt);

}  // namespace dprelay::net
