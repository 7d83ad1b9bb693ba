#include "net/peer_cred.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace dprelay::net {

absl::StatusOr<PeerCred> GetPeerCred(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("SO_PEERCRED on fd ", fd, ": ", std::strerror(errno)));
  }
  return PeerCred{.pid = cred.pid, .uid = cred.uid, .gid = cred.gid};
}

absl::Status CheckTrustedPeer(int fd) {
  absl::StatusOr<PeerCred> peer = GetPeerCred(fd);
  if (!peer.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot tell who the peer is: ", peer.status().message()));
  }
  const uid_t self = geteuid();
  if (peer->uid != 0 && peer->uid != self) {
    return absl::PermissionDeniedError(absl::StrCat(
        "peer runs as uid ", peer->uid, " (pid ", peer->pid, "), neither root nor our uid ", self));
  }
  return absl::OkStatus();
}

}  // namespace dprelay::net
