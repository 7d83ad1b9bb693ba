// Who is at the other end of a connected unix socket (SO_PEERCRED: the credentials the peer
// had when it called connect() or listen(), as the kernel recorded them; they cannot be
// forged by the peer).
#pragma once

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dprelay::net {

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The peer's credentials. Error (with errno's text) if `fd` is not a connected unix socket.
absl::StatusOr<PeerCred> GetPeerCred(int fd);

// Ok if the peer of `fd` is root or runs as our own effective uid: the only processes allowed
// to drive the dataplane or be driven by control. Otherwise PermissionDenied naming the
// peer's uid and pid; the caller adds the socket's path.
absl::Status CheckTrustedPeer(int fd);

}  // namespace dprelay::net
