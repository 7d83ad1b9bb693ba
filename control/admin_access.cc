#include "control/admin_access.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "net/peer_cred.h"

namespace dprelay::control {
namespace {

// Buffer for the getgrnam_r/getpwuid_r strings.
std::vector<char> NssBuffer() {
  const long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  return std::vector<char>(hint > 0 ? static_cast<size_t>(hint) : 16384);
}

std::vector<gid_t> GroupsOf(uid_t uid, gid_t gid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf = NssBuffer();
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return {gid};
  }
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  while (getgrouplist(pw.pw_name, gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n) + 64);  // n is now the number needed
    n = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(n));
  return groups;
}

}  // namespace

absl::StatusOr<AdminGroup> LookupAdminGroup(const std::string& name) {
  absl::StatusOr<gid_t> gid = net::LookupGroup(name, "--admin_group=" + name);
  if (!gid.ok()) {
    return gid.status();
  }
  return AdminGroup{.name = name, .gid = *gid};
}

absl::StatusOr<AdminCaller> AdminCallerOf(int fd, bool with_groups) {
  absl::StatusOr<net::PeerCred> cred = net::GetPeerCred(fd);
  if (!cred.ok()) {
    return cred.status();
  }
  return AdminCaller{
      .uid = cred->uid,
      .gid = cred->gid,
      .groups = with_groups ? GroupsOf(cred->uid, cred->gid) : std::vector<gid_t>{cred->gid}};
}

absl::Status CheckAdminAccess(const AdminCommand& command, const AdminCaller& caller,
                              const AdminAccessPolicy& policy) {
  if (!policy.group.has_value() || caller.uid == 0 || caller.uid == policy.self_uid) {
    return absl::OkStatus();
  }
  const gid_t gid = policy.group->gid;
  const bool member = caller.gid == gid || std::find(caller.groups.begin(), caller.groups.end(),
                                                     gid) != caller.groups.end();
  if (!member) {
    return absl::PermissionDeniedError(
        absl::StrCat(command.cli, ": permission denied: uid ", caller.uid,
                     " is neither root, dprelay-control's uid ", policy.self_uid,
                     " nor in the operator group ", policy.group->name));
  }
  if (command.access == AdminAccess::kMutating) {
    return absl::PermissionDeniedError(absl::StrCat(
        command.cli,
        ": permission denied: it changes the relay, which needs root or dprelay-control's uid ",
        policy.self_uid, "; uid ", caller.uid, " is in the operator group ", policy.group->name,
        ", which may run read-only commands only"));
  }
  return absl::OkStatus();
}

}  // namespace dprelay::control
