#include "net/tcp_listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dprelay::net {

absl::StatusOr<TcpListener> ListenTcp(const AddrPort& addr, int backlog, const std::string& flag) {
  const int family = addr.ip.is_v4() ? AF_INET : AF_INET6;
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat(flag, ": socket: ", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss{};
  const socklen_t len = ToSockaddr(addr, &ss);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
      listen(fd.get(), backlog) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": bind/listen: ", std::strerror(errno)));
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len);
  absl::StatusOr<AddrPort> bound = FromSockaddr(reinterpret_cast<sockaddr*>(&local), local_len);
  return TcpListener{.fd = std::move(fd), .port = bound.ok() ? bound->port : addr.port};
}

}  // namespace dprelay::net
