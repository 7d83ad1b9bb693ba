// dprelayctl: the operator's CLI for dprelay-control (DESIGN.md §1, §4 "Admin API").
//
//   dprelayctl [--socket=PATH] [--json] [--timeout=5s] COMMAND [ARGUMENT] [--OPTION...]
//
// The commands, their arguments and `dprelayctl help` come from the admin command table
// (control/admin_commands.h).
// Prints what the server rendered (human text, or JSON with --json). Any failure is one line
// on stderr and exit status 1; a usage error is exit status 2.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/admin_client.h"
#include "control/admin_commands.h"
#include "control/admin_protocol.h"
#include "gflags/gflags.h"
#include "proto/version.h"

DEFINE_string(socket, dprelay::control::kDefaultAdminSocket, "dprelay-control's --admin_socket");
DEFINE_bool(json, false, "Print JSON for scripts instead of human text");
DEFINE_string(timeout, "5s", "Give up if dprelay-control has not answered by then");

namespace {

using dprelay::control::AdminCall;
using dprelay::control::AdminCommand;

std::string Usage() {
  return absl::StrCat("usage: dprelayctl [--socket=PATH] [--json] [--timeout=5s] COMMAND\n",
                      dprelay::control::AdminHelpText());
}

int UsageError(const std::string& why) {
  std::fprintf(stderr, "dprelayctl: %s\n%s", why.c_str(), Usage().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelayctl")) {
    return 0;
  }
  const std::string usage = Usage();
  gflags::SetUsageMessage(usage);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    return UsageError("missing command");
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(FLAGS_timeout, &timeout) || timeout <= absl::ZeroDuration()) {
    return UsageError(
        absl::StrCat("--timeout: \"", FLAGS_timeout, "\" is not a positive duration"));
  }
  size_t name_words = 0;
  const AdminCommand* command = dprelay::control::MatchAdminCommand(args, &name_words);
  if (command == nullptr) {
    return UsageError(absl::StrCat("unknown command \"", absl::StrJoin(args, " "), "\""));
  }
  absl::StatusOr<AdminCall> call = dprelay::control::ParseAdminArgs(
      *command, std::span<const std::string>(args).subspan(name_words));
  if (!call.ok()) {
    return UsageError(std::string(call.status().message()));
  }
  if (command->handler == nullptr) {  // help
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  const dprelay::control::AdminRequest request{
      .json = FLAGS_json,
      .command = std::string(command->name),
      .argument = absl::StrJoin(dprelay::control::FormatAdminArgs(*call), " ")};
  absl::StatusOr<std::string> body = dprelay::control::CallAdmin(FLAGS_socket, request, timeout);
  if (!body.ok()) {
    std::fprintf(stderr, "dprelayctl: %s\n", std::string(body.status().message()).c_str());
    return 1;
  }
  std::fputs(body->c_str(), stdout);
  return 0;
}
