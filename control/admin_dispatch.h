// dprelay-control's side of the admin command table (control/admin_commands.h): a request is
// looked up, its arguments checked, and its handler called.
#pragma once

#include "control/admin_access.h"
#include "control/admin_commands.h"
#include "control/admin_protocol.h"

namespace dprelay::control {

// Answers `request` through `handlers` if `caller` may run it (CheckAdminAccess); an unknown
// command, bad arguments or a refusal get an error naming them.
void DispatchAdmin(AdminHandlers& handlers, const AdminRequest& request, const AdminCaller& caller,
                   const AdminAccessPolicy& access, AdminReply reply);

}  // namespace dprelay::control
