// Unix-domain sockets: the address check every user needs, and a listening socket that owns
// its socket file.
#pragma once

#include <sys/un.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "net/unique_fd.h"

namespace dprelay::net {

// The sockaddr_un for `path`. Errors start with `flag` ("--admin_socket=/run/x.sock") and say
// the path is empty or does not fit sun_path.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path, const std::string& flag);

// The socket file a listener created: removed when this goes away. Move-only.
class SocketFile {
 public:
  SocketFile() = default;
  explicit SocketFile(std::string path) : path_(std::move(path)) {}
  ~SocketFile() { Remove(); }
  SocketFile(SocketFile&& other) noexcept : path_(std::exchange(other.path_, std::string())) {}
  SocketFile& operator=(SocketFile&& other) noexcept;
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  void Remove();

  std::string path_;  // empty once moved from: nothing to remove
};

struct UnixListener {
  UniqueFd fd;  // listening, non-blocking
  SocketFile file;
};

// Creates the socket's directory (0755) if missing, replaces a stale socket file, and binds
// with mode 0600. `type` is SOCK_STREAM or SOCK_SEQPACKET. Errors start with `flag`.
absl::StatusOr<UnixListener> ListenUnix(const std::string& path, int type, int backlog,
                                        const std::string& flag);

}  // namespace dprelay::net
