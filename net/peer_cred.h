// Who is at the other end of a connected unix socket (SO_PEERCRED: the credentials the peer
// had when it called connect() or listen(), as the kernel recorded them; they cannot be
// forged by the peer).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

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
// to drive the dataplane or be driven by control; or, given `group`, if the peer's effective
// gid is that group (the dataplane's --ipc_group: dprelay-control running as user dprelay).
// Otherwise PermissionDenied naming the peer's uid, gid and pid; the caller adds the socket's
// path.
absl::Status CheckTrustedPeer(int fd, std::optional<gid_t> group = std::nullopt);

// The gid of group `name` (a name from the group database, or a number). Errors start with
// `flag` ("--ipc_group=dprelay") and say the group does not exist.
absl::StatusOr<gid_t> LookupGroup(const std::string& name, const std::string& flag);

}  // namespace dprelay::net
