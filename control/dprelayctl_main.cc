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

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/admin_client.h"
#include "control/admin_commands.h"
#include "control/admin_protocol.h"
#include "control/admin_render.h"
#include "control/counters_watch.h"
#include "gflags/gflags.h"
#include "nlohmann/json.hpp"
#include "proto/cli_help.h"
#include "proto/version.h"

DEFINE_string(socket, dprelay::control::kDefaultAdminSocket, "dprelay-control's --admin_socket");
DEFINE_bool(json, false, "Print JSON for scripts instead of human text");
DEFINE_string(timeout, "5s", "Give up if dprelay-control has not answered by then");
DEFINE_bool(print_bash_completion, false,
            "Print the bash completion script (conf/dprelayctl.bash-completion) and exit");

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

// Takes the options of the command out of argv (before gflags, which knows only the global
// flags) and returns them: `dprelayctl sessions --key=ab --json` leaves `sessions --json`.
std::vector<std::string> TakeCommandOptions(int* argc, char** argv) {
  // The command is the first word that is not a global flag or a global flag's value.
  int first = 1;
  while (first < *argc) {
    const std::string_view w = argv[first];
    if (w == "--socket" || w == "-socket" || w == "--timeout" || w == "-timeout") {
      first += 2;
    } else if (!w.empty() && w[0] == '-') {
      ++first;
    } else {
      break;
    }
  }
  const std::vector<std::string> words(argv + std::min(first, *argc), argv + *argc);
  size_t name_words = 0;
  const AdminCommand* command = dprelay::control::MatchAdminCommand(words, &name_words);
  std::vector<std::string> taken;
  if (command == nullptr) {
    return taken;
  }
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view w = argv[i];
    if (i >= first + static_cast<int>(name_words) && w.starts_with("--")) {
      const std::string_view name = w.substr(2, w.find('=') - 2);
      const auto option = std::find_if(command->options.begin(), command->options.end(),
                                       [name](const dprelay::control::AdminOption& o) {
                                         return o.name ==
                                                absl::string_view(name.data(), name.size());
                                       });
      if (option != command->options.end()) {
        taken.emplace_back(w);
        // "--watch 2": a value in the next word goes with its option.
        if (option->value != dprelay::control::AdminValue::kNone &&
            w.find('=') == std::string_view::npos && i + 1 < *argc && argv[i + 1][0] != '-') {
          taken.emplace_back(argv[++i]);
        }
        continue;
      }
    }
    argv[out++] = argv[i];
  }
  *argc = out;
  return taken;
}

// `dprelayctl version`: ours, then the server's.
int Version(const std::string& body) {
  if (!FLAGS_json) {
    std::fputs(dprelay::control::RenderVersion("dprelayctl", false).c_str(), stdout);
    std::fputs(body.c_str(), stdout);
    return 0;
  }
  nlohmann::ordered_json j;
  j["dprelayctl"] =
      nlohmann::ordered_json::parse(dprelay::control::RenderVersion("dprelayctl", true));
  j["server"] = nlohmann::ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::puts(j.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelayctl")) {
    return 0;
  }
  const std::string usage = Usage();
  gflags::SetUsageMessage(usage);
  if (dprelay::PrintHelpIfAsked(argc, argv)) {
    return 0;
  }
  std::vector<std::string> options = TakeCommandOptions(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (FLAGS_print_bash_completion) {
    std::fputs(dprelay::control::AdminBashCompletion().c_str(), stdout);
    return 0;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  args.insert(args.end(), options.begin(), options.end());
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
  if (std::optional<std::string> watch = call->Get("watch")) {  // counters --watch N
    uint32_t seconds = 0;
    (void)absl::SimpleAtoi(*watch, &seconds);  // checked by ParseAdminArgs (1..3600)
    return dprelay::control::WatchCounters(FLAGS_socket, timeout, absl::Seconds(seconds),
                                           FLAGS_json, call->Has("all"));
  }
  const dprelay::control::AdminRequest request{
      .json = FLAGS_json,
      .command = std::string(command->name),
      .argument = absl::StrJoin(dprelay::control::FormatAdminArgs(*call), " ")};
  absl::StatusOr<std::string> body = dprelay::control::CallAdmin(FLAGS_socket, request, timeout);
  if (!body.ok()) {
    if (command->name == "version") {  // ours at least
      std::fputs(dprelay::control::RenderVersion("dprelayctl", false).c_str(), stdout);
    }
    std::fprintf(stderr, "dprelayctl: %s\n", std::string(body.status().message()).c_str());
    return 1;
  }
  if (command->name == "version") {
    return Version(*body);
  }
  std::fputs(body->c_str(), stdout);
  return 0;
}
