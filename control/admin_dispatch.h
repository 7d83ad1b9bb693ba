// dprelay-control's side of the admin command table (control/admin_commands.h): a request is
// looked up, its arguments checked, and its handler called.
#pragma once

#include "control/admin_commands.h"
#include "control/admin_protocol.h"

namespace dprelay::control {

// Answers `request` through `handlers`; an unknown command or bad arguments get an error
// naming them.
void DispatchAdmin(AdminHandlers& handlers, const AdminRequest& request, AdminReply reply);

}  // namespace dprelay::control
