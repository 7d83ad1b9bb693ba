#include "net/peer_cred.h"

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
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

absl::Status CheckTrustedPeer(int fd, std::optional<gid_t> group) {
  absl::StatusOr<PeerCred> peer = GetPeerCred(fd);
  if (!peer.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot tell who the peer is: ", peer.status().message()));
  }
  const uid_t self = geteuid();
  if (peer->uid == 0 || peer->uid == self) {
    return absl::OkStatus();
  }
  if (group.has_value()) {
    if (peer->gid == *group) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(
        absl::StrCat("peer runs as uid ", peer->uid, " gid ", peer->gid, " (pid ", peer->pid,
                     "), neither root nor our uid ", self, " nor group ", *group));
  }
  return absl::PermissionDeniedError(absl::StrCat("peer runs as uid ", peer->uid, " (pid ",
                                                  peer->pid, "), neither root nor our uid ", self));
}

absl::StatusOr<gid_t> LookupGroup(const std::string& name, const std::string& flag) {
  uint32_t number = 0;
  if (absl::SimpleAtoi(name, &number)) {
    return static_cast<gid_t>(number);
  }
  group entry{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  int rc = getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found);
  while (rc == ERANGE) {  // a group with many members
    buf.resize(buf.size() * 2);
    rc = getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found);
  }
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, ": cannot read the group database: ", std::strerror(rc)));
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": no such group \"", name, "\" (getent group ", name, ")"));
  }
  return found->gr_gid;
}

}  // namespace dprelay::net
