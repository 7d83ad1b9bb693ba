// Who may run which admin command (issue 11 "An operator group"). Without --admin_group the
// admin socket is mode 0600: only control's own user (and root) can connect, and may run
// everything. With --admin_group=NAME it is mode 0660 with that group, and each request is
// checked against the caller's credentials (SO_PEERCRED on the connection): root and
// control's own uid run everything; members of the group (by the caller's gid, or its
// supplementary groups as getgrouplist(3) lists them for its user) run the read-only
// commands; anyone else nothing.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/admin_commands.h"

namespace dprelay::control {

// The operator group from --admin_group.
struct AdminGroup {
  std::string name;
  gid_t gid = 0;
};

// Looks the group up (getgrnam_r). Errors name the flag.
absl::StatusOr<AdminGroup> LookupAdminGroup(const std::string& name);

// The caller of one request.
struct AdminCaller {
  uid_t uid = 0;
  gid_t gid = 0;
  // Its user's groups (getgrouplist), gid included; just gid when the uid has no user.
  std::vector<gid_t> groups;
};

// The caller behind a connected unix socket: SO_PEERCRED, then (with_groups) its user's groups
// (a passwd/group lookup, only worth it when there is an operator group to check).
absl::StatusOr<AdminCaller> AdminCallerOf(int fd, bool with_groups);

struct AdminAccessPolicy {
  uid_t self_uid = 0;               // control's effective uid
  std::optional<AdminGroup> group;  // --admin_group; none: the socket's mode is the check
};

// Ok, or PermissionDenied naming the command and why.
absl::Status CheckAdminAccess(const AdminCommand& command, const AdminCaller& caller,
                              const AdminAccessPolicy& policy);

}  // namespace dprelay::control
