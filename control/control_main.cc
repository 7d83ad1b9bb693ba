// dprelay-control: keys, policy, the allocation socket and VNI assignment for dprelay
// (DESIGN.md §4). The only file of control/ that reads flags or exits.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "control/config_check.h"
#include "control/control_config.h"
#include "control/control_server.h"
#include "control/key_store.h"
#include "gflags/gflags.h"
#include "proto/flag_origin.h"
#include "net/service_notify.h"
#include "proto/key.h"
#include "proto/log.h"
#include "proto/cli_help.h"
#include "proto/version.h"

DEFINE_string(state_dir, "/var/lib/dprelay",
              "Directory holding control.key, server_disco.key and the LamportID mark "
              "(created 0700 if missing)");
DEFINE_string(listen, "0.0.0.0:40001",
              "Allocation socket address, ip:port or [ipv6]:port ([::] also accepts IPv4)");
DEFINE_string(policy, "",
              "Allow-list of client keys, one discokey:<hex> per line (required unless "
              "printing a key); SIGHUP reloads it");
DEFINE_string(dataplane_socket, "/run/dprelay-dataplane/dataplane.sock",
              "Unix SOCK_SEQPACKET socket the dataplane listens on");
DEFINE_string(bind_lifetime, "30s", "BindLifetime told to clients and enforced by the dataplane");
DEFINE_string(steady_state_lifetime, "5m",
              "SteadyStateLifetime told to clients and enforced by the dataplane");
DEFINE_string(admin_socket, "/run/dprelay/control.sock",
              "Unix socket (mode 0600) for dprelayctl; empty disables the admin API");
DEFINE_string(admin_group, "",
              "Group whose members may run dprelayctl's read-only commands (status, sessions, "
              "refusals, ping, version): the admin socket becomes mode 0660 with this group. "
              "Changes (reload, set, evict) still need root or this process's user");
DEFINE_string(static_endpoints, "",
              "ip:port[,ip:port...] advertised before the dataplane's addresses (e.g. an AWS "
              "NLB listener); `dprelayctl set static-endpoints` overrides it at run time");
DEFINE_bool(static_only, false,
            "Advertise only the static endpoints, never the dataplane's own addresses");
DEFINE_string(metrics_listen, "",
              "Serve Prometheus metrics over HTTP on ip:port (e.g. 127.0.0.1:9100); empty = off");
DEFINE_string(health_listen, "",
              "Serve GET /healthz over HTTP on ip:port for load-balancer health checks: 200 while "
              "the dataplane is connected, synced and forwarding, else 503 and why; empty = off");
DEFINE_string(log_level, "info", "Least severe log lines written: debug, info, warning or error");
DEFINE_bool(print_public_key, false,
            "Print the control public key as discokey:<hex> (generating keys if needed) and exit");
DEFINE_bool(check, false,
            "Check the flags, flagfile, policy and state directory, print what would run and "
            "exit: 0 if a start would accept them, else 1 with one line per error (nothing is "
            "created)");
DEFINE_bool(print_server_key, false,
            "Print the server disco public key as discokey:<hex> (generating keys if needed) "
            "and exit");

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "dprelay-control: %s\n", std::string(status.message()).c_str());
  return 1;
}

// One "dprelay-control: WHERE: what" line per error.
int FailLines(absl::string_view lines) {
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    std::fprintf(stderr, "dprelay-control: %.*s\n", static_cast<int>(line.size()), line.data());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelay-control")) {
    return 0;
  }
  gflags::SetUsageMessage(
      "dprelay-control --policy=FILE [--listen=ip:port] [--state_dir=DIR] "
      "[--dataplane_socket=PATH]");
  if (dprelay::PrintHelpIfAsked(argc, argv)) {
    return 0;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc > 1) {
    return Fail(absl::InvalidArgumentError(std::string("unexpected argument \"") + argv[1] +
                                           "\" (flags only; see --help)"));
  }

  if (absl::StatusOr<dprelay::LogLevel> level = dprelay::ParseLogLevel(FLAGS_log_level);
      level.ok()) {
    dprelay::SetLogLevel(*level);
  } else {
    return Fail(level.status());
  }
  dprelay::FlagErrors flag_errors;
  absl::StatusOr<dprelay::control::ControlConfig> config =
      dprelay::control::ValidateControlFlags(dprelay::control::ControlFlags{
          .state_dir = FLAGS_state_dir,
          .listen = FLAGS_listen,
          .policy = FLAGS_policy,
          .dataplane_socket = FLAGS_dataplane_socket,
          .bind_lifetime = FLAGS_bind_lifetime,
          .steady_state_lifetime = FLAGS_steady_state_lifetime,
          .print_public_key = FLAGS_print_public_key,
          .print_server_key = FLAGS_print_server_key,
          .admin_socket = FLAGS_admin_socket,
          .admin_group = FLAGS_admin_group,
          .static_endpoints = FLAGS_static_endpoints,
          .static_only = FLAGS_static_only,
          .metrics_listen = FLAGS_metrics_listen,
          .health_listen = FLAGS_health_listen,
      },
      &flag_errors);
  if (!config.ok()) {
    return FailLines(dprelay::DescribeFlagErrors(flag_errors));
  }
  if (FLAGS_check) {
    dprelay::control::ControlCheck check = dprelay::control::CheckControlConfig(*config);
    for (const std::string& error : check.errors) {
      FailLines(error);
    }
    std::printf("%s%s\n", check.summary.c_str(),
                check.errors.empty() ? "configuration OK" : "configuration has errors");
    return check.errors.empty() ? 0 : 1;
  }

  if (config->print_only()) {
    absl::StatusOr<std::unique_ptr<dprelay::control::KeyStore>> keys =
        dprelay::control::KeyStore::Open({.state_dir = config->state_dir});
    if (!keys.ok()) {
      return Fail(keys.status());
    }
    if (config->print_public_key) {
      std::printf("%s\n", dprelay::FormatDiscoKey((*keys)->control_key().pub).c_str());
    }
    if (config->print_server_key) {
      std::printf("%s\n", dprelay::FormatDiscoKey((*keys)->server_disco_key().pub).c_str());
    }
    return 0;
  }

  // Signals arrive as readable events on the loop's signalfd, so no handler and no globals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    return Fail(absl::InternalError("sigprocmask failed"));
  }
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    return Fail(absl::InternalError("signalfd failed"));
  }

  absl::StatusOr<std::unique_ptr<dprelay::control::ControlServer>> server =
      dprelay::control::ControlServer::Create(*config);
  if (!server.ok()) {
    return Fail(server.status());
  }
  dprelay::net::ServiceNotifier notify;
  absl::Status run = (*server)->Run(signal_fd, &notify);
  server->reset();
  close(signal_fd);
  if (!run.ok()) {
    return Fail(run);
  }
  return 0;
}
