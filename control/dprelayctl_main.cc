// dprelayctl: the operator's CLI for dprelay-control (DESIGN.md §1, §4 "Admin API").
//
//   dprelayctl [--socket=PATH] [--json] [--timeout=5s] status
//   dprelayctl sessions | refusals | reload
//   dprelayctl ping VNI
//   dprelayctl set static-endpoints ip:port[,ip:port...] | none | default
//   dprelayctl counters [--all] [--watch N]
//
// Prints what the server rendered (human text, or JSON with --json). Any failure is one line
// on stderr and exit status 1; a usage error is exit status 2.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/admin_client.h"
#include "control/admin_protocol.h"
#include "control/counters_watch.h"
#include "gflags/gflags.h"
#include "proto/version.h"

DEFINE_string(socket, dprelay::control::kDefaultAdminSocket, "dprelay-control's --admin_socket");
DEFINE_bool(json, false, "Print JSON for scripts instead of human text");
DEFINE_string(timeout, "5s", "Give up if dprelay-control has not answered by then");
DEFINE_bool(all, false, "counters: also show the counters that are zero");
DEFINE_uint32(watch, 0, "counters: show them again every N seconds, with rates, until Ctrl-C");

namespace {

constexpr char kUsage[] =
    "usage: dprelayctl [--socket=PATH] [--json] [--timeout=5s] COMMAND\n"
    "commands:\n"
    "  status                                   keys, addresses, dataplane, counts\n"
    "  sessions                                 per VNI: bound legs, short keys, packets, bytes\n"
    "  ping VNI                                 per leg: the relay's handshake round trip to\n"
    "                                           the client, and when it was last heard\n"
    "  refusals                                 refusals by reason and the most recent ones\n"
    "  counters [--all] [--watch N]             the dataplane's counters (non-zero unless\n"
    "                                           --all), drops by reason, workers' busy ratio,\n"
    "                                           rings, NIC xstats; --watch N: every N s, rates\n"
    "  reload                                   re-read the policy file\n"
    "  set static-endpoints IP:PORT[,IP:PORT]   replace the static endpoints (persisted);\n"
    "                       none | default      none: advertise no static endpoint;\n"
    "                                           default: back to --static_endpoints/policy\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "dprelayctl: %s\n%s", why.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelayctl")) {
    return 0;
  }
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    return Usage("missing command");
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(FLAGS_timeout, &timeout) || timeout <= absl::ZeroDuration()) {
    return Usage(absl::StrCat("--timeout: \"", FLAGS_timeout, "\" is not a positive duration"));
  }
  dprelay::control::AdminRequest request{.json = FLAGS_json, .command = args[0], .argument = ""};
  const std::string& cmd = args[0];
  if (cmd == "status" || cmd == "sessions" || cmd == "refusals" || cmd == "reload") {
    if (args.size() != 1) {
      return Usage(absl::StrCat(cmd, " takes no argument"));
    }
  } else if (cmd == "set") {
    if (args.size() != 3 || args[1] != "static-endpoints") {
      return Usage("expected: set static-endpoints IP:PORT[,IP:PORT...] | none | default");
    }
    request.command = "set-static-endpoints";
    request.argument = args[2];
    if (request.argument.find_first_of(" \t\n") != std::string::npos) {
      return Usage("static endpoints are one comma-separated argument without spaces");
    }
  } else if (cmd == "counters") {
    if (args.size() != 1) {
      return Usage("counters takes no argument (flags: --all, --watch N)");
    }
    if (FLAGS_watch > 0) {
      return dprelay::control::WatchCounters(FLAGS_socket, timeout, absl::Seconds(FLAGS_watch),
                                             FLAGS_json, FLAGS_all);
    }
    request.argument = FLAGS_all ? "all" : "";
  } else if (cmd == "ping") {
    uint32_t vni = 0;
    if (args.size() != 2 || !absl::SimpleAtoi(args[1], &vni) || vni == 0 || vni > 0xFFFFFF) {
      return Usage("expected: ping VNI (1..16777215)");
    }
    request.argument = args[1];
  } else {
    return Usage(absl::StrCat("unknown command \"", cmd, "\""));
  }
  absl::StatusOr<std::string> body = dprelay::control::CallAdmin(FLAGS_socket, request, timeout);
  if (!body.ok()) {
    std::fprintf(stderr, "dprelayctl: %s\n", std::string(body.status().message()).c_str());
    return 1;
  }
  std::fputs(body->c_str(), stdout);
  return 0;
}
