#include "control/admin_dispatch.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dprelay::control {

void DispatchAdmin(AdminHandlers& handlers, const AdminRequest& request, const AdminCaller& caller,
                   const AdminAccessPolicy& access, AdminReply reply) {
  const AdminCommand* command = FindAdminCommand(request.command);
  if (command == nullptr || command->handler == nullptr) {
    reply(absl::InvalidArgumentError(absl::StrCat("unknown command \"", request.command, "\"")));
    return;
  }
  if (absl::Status allowed = CheckAdminAccess(*command, caller, access); !allowed.ok()) {
    reply(allowed);
    return;
  }
  const std::vector<std::string> words = absl::StrSplit(request.argument, ' ', absl::SkipEmpty());
  absl::StatusOr<AdminCall> call = ParseAdminArgs(*command, words);
  if (!call.ok()) {
    reply(call.status());
    return;
  }
  call->json = request.json;
  (handlers.*(command->handler))(*call, std::move(reply));
}

}  // namespace dprelay::control
