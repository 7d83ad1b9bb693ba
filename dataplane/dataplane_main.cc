// dprelay-dataplane: EAL options, then "--", then ours (DPDK's convention); or only ours, with
// the EAL options in --eal_args, so that one flagfile holds the whole configuration.
//   dprelay-dataplane -l 0-1 --no-huge -m 512 -- --port=af_xdp:eth1 --address=10.0.0.1/24
//   dprelay-dataplane --flagfile=/etc/dprelay/dataplane.flags [--check]
#include <gflags/gflags.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "dataplane/config.h"
#include "dataplane/dataplane.h"
#include "drivers/eal.h"
#include "drivers/eal_args.h"
#include "drivers/host_check.h"
#include "proto/flag_origin.h"
#include "net/peer_cred.h"
#include "net/service_notify.h"
#include "proto/log.h"
#include "proto/trusted_dir.h"
#include "proto/cli_help.h"
#include "proto/version.h"

DEFINE_string(port, "",
              "Device for the relay port: af_xdp:IFACE, af_packet:IFACE, pci:ADDRESS (adds it to "
              "EAL's allow list), null, dev:NAME");
DEFINE_string(eal_args, "",
              "EAL options, space-separated (e.g. \"-l 2-3 --huge-dir=/dev/hugepages\"), for "
              "when they come from the flagfile rather than before '--' on the command line");
DEFINE_bool(check, false,
            "Check the flags, flagfile, EAL options and port on this host without starting EAL, "
            "print what would run and exit: 0 if a start would accept them, else 1 with one "
            "line per error");
DEFINE_string(address, "",
              "Relay addresses with their connected prefixes, IPv4 and optionally IPv6, e.g. "
              "10.0.0.1/24 or 10.0.0.1/24,2001:db8::1/64");
DEFINE_uint32(relay_port, 40000, "UDP port clients send Binds and data to");
DEFINE_string(gateway, "",
              "Next hops for clients outside the --address prefixes: IPv4, IPv6 (link-local or "
              "on-link) or both, e.g. 10.0.0.254,fe80::1");
DEFINE_uint32(capacity, 65536, "Session table size: largest VNI (1..16777215)");
DEFINE_string(ipc_socket, "/run/dprelay-dataplane/dataplane.sock",
              "Unix socket dprelay-control connects to");
DEFINE_string(ipc_group, "",
              "Group (name or number) whose processes may connect to --ipc_socket besides root "
              "and our uid, e.g. dprelay for dprelay-control running as user dprelay: the socket "
              "becomes 0660 of that group; empty = 0600, root and our uid only");
DEFINE_uint32(idle_sleep_us, 0, "Microseconds a worker sleeps after an empty poll (0 = busy poll)");
DEFINE_string(log_level, "info", "Least severe log lines written: debug, info, warning or error");
DEFINE_uint32(stats_interval, 0, "Log counters every N seconds (0 = only at exit)");
DEFINE_string(exception_iface, "",
              "Create this kernel interface (net_tap, the NIC's MAC and --address) and hand it "
              "traffic for the relay address that is not relay traffic (TCP, other UDP ports); "
              "empty = drop and count such traffic");

namespace {

std::atomic<bool> g_stop{false};  // set by the signal handler; the loops read it relaxed

void OnSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

// Every flag's problems go to `errors`; the config is usable only when there are none.
dprelay::DataplaneConfig BuildConfig(dprelay::FlagErrors* errors) {
  dprelay::DataplaneConfig c;
  if (FLAGS_port.empty()) {
    errors->Add("port", "required (e.g. --port=af_xdp:eth1 or --port=pci:0000:3b:00.1)");
  } else if (absl::StatusOr<dprelay::PortSpec> port = dprelay::ParsePortSpec(FLAGS_port);
             !port.ok()) {
    errors->Add("port", port.status().message());
  } else {
    c.port = *port;
  }
  if (FLAGS_address.empty()) {
    errors->Add("address", "required (e.g. --address=10.0.0.1/24)");
  } else if (absl::Status st = dprelay::ParseAddressFlag(FLAGS_address, &c); !st.ok()) {
    errors->Add("address", st.message());
  }
  if (FLAGS_relay_port == 0 || FLAGS_relay_port > 65535) {
    errors->Add("relay_port", absl::StrFormat("%u: must be 1..65535", FLAGS_relay_port));
  }
  c.relay_port = static_cast<uint16_t>(FLAGS_relay_port);
  if (!FLAGS_gateway.empty()) {
    if (absl::Status st = dprelay::ParseGatewayFlag(FLAGS_gateway, &c); !st.ok()) {
      errors->Add("gateway", st.message());
    }
  }
  if (FLAGS_capacity == 0 || FLAGS_capacity > 0xFFFFFF) {
    errors->Add("capacity", absl::StrFormat("%u: must be 1..16777215", FLAGS_capacity));
  }
  c.capacity = FLAGS_capacity;
  c.ipc_socket = FLAGS_ipc_socket;
  if (!FLAGS_ipc_group.empty()) {
    absl::StatusOr<gid_t> group =
        dprelay::net::LookupGroup(FLAGS_ipc_group, "--ipc_group=" + FLAGS_ipc_group);
    if (!group.ok()) {
      errors->Add("ipc_group", group.status().message());
    } else {
      c.ipc_group = *group;
    }
  }
  c.idle_sleep_us = FLAGS_idle_sleep_us;
  c.stats_interval_s = FLAGS_stats_interval;
  c.exception_iface = FLAGS_exception_iface;
  return c;
}

// What a start would run with, for --check.
std::string Summary(const std::vector<std::string>& eal, const std::string& port) {
  auto line = [](std::string_view what, std::string_view value) {
    return absl::StrFormat("  %-18s %s\n", what, value);
  };
  std::string s = "dprelay-dataplane would run with:\n";
  s += line("EAL options", eal.empty() ? "(none)" : absl::StrJoin(eal, " "));
  s += line("port", port);
  s += line("addresses", FLAGS_address);
  s += line("relay port", absl::StrCat(FLAGS_relay_port));
  s += line("gateway", FLAGS_gateway.empty() ? "none (clients on-link only)" : FLAGS_gateway);
  s += line("capacity", absl::StrCat(FLAGS_capacity, " sessions"));
  s += line("control socket", FLAGS_ipc_socket);
  s += line("exception iface", FLAGS_exception_iface.empty() ? "off" : FLAGS_exception_iface);
  return s;
}

int FailLines(absl::string_view lines) {
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    std::fprintf(stderr, "dprelay-dataplane: %.*s\n", static_cast<int>(line.size()), line.data());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelay-dataplane")) {
    return 0;
  }
  // With "--", EAL gets what comes before it and gflags what follows; without, all is ours.
  std::vector<char*> ours;
  int split = dprelay::SplitEalArgs(argc, argv, &ours);
  if (split == argc) {
    ours.assign(argv, argv + argc);
    split = 1;
  }
  const std::vector<std::string> eal_command_line(argv + 1, argv + split);
  int our_argc = static_cast<int>(ours.size());
  char** our_argv = ours.data();
  gflags::SetUsageMessage(
      "dprelay-dataplane [EAL options --] --port=KIND:ARG --address=IP/PREFIX [options]\n"
      "  or: dprelay-dataplane --flagfile=FILE [--check]   (EAL options in --eal_args)");
  if (dprelay::PrintHelpIfAsked(argc, argv)) {
    return 0;
  }
  gflags::ParseCommandLineFlags(&our_argc, &our_argv, true);
  if (our_argc > 1) {
    std::fprintf(stderr,
                 "dprelay-dataplane: unexpected argument '%s' (EAL options go before '--' or in "
                 "--eal_args)\n",
                 our_argv[1]);
    return 1;
  }
  if (absl::StatusOr<dprelay::LogLevel> level = dprelay::ParseLogLevel(FLAGS_log_level);
      level.ok()) {
    dprelay::SetLogLevel(*level);
  } else {
    std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(level.status().message()).c_str());
    return 1;
  }
  dprelay::FlagErrors errors;
  dprelay::DataplaneConfig config = BuildConfig(&errors);
  std::vector<std::string> eal_args;
  if (absl::StatusOr<std::vector<std::string>> eal =
          dprelay::ComposeEalArgs(eal_command_line, FLAGS_eal_args, config.port);
      !eal.ok()) {
    errors.Add(FLAGS_eal_args.empty() ? "port" : "eal_args", eal.status().message());
  } else {
    eal_args = *std::move(eal);
  }
  if (FLAGS_check) {
    std::string port_line;
    if (!FLAGS_port.empty() && errors.empty()) {
      if (absl::StatusOr<std::string> port = dprelay::DescribePortOnHost(config.port); port.ok()) {
        port_line = *port;
      } else {
        errors.Add("port", port.status().message());
      }
      const std::string dir = FLAGS_ipc_socket.substr(0, FLAGS_ipc_socket.rfind('/'));
      if (access(dir.c_str(), F_OK) == 0) {
        if (absl::Status st = dprelay::CheckTrustedDirectory(dir); !st.ok()) {
          errors.Add("ipc_socket", st.message());
        }
      }
      for (const std::string& problem : dprelay::CheckEalArgsOnHost(eal_args)) {
        errors.Add("eal_args", problem);
      }
    }
    if (!errors.empty()) {
      return FailLines(dprelay::DescribeFlagErrors(errors));
    }
    std::printf("%sconfiguration OK\n", Summary(eal_args, port_line).c_str());
    return 0;
  }
  if (!errors.empty()) {
    return FailLines(dprelay::DescribeFlagErrors(errors));
  }

  std::vector<char*> eal_argv = {argv[0]};
  for (std::string& a : eal_args) {
    eal_argv.push_back(a.data());
  }
  absl::StatusOr<int> eal = dprelay::InitEal(static_cast<int>(eal_argv.size()), eal_argv.data());
  if (!eal.ok()) {
    std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(eal.status().message()).c_str());
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  int rc = 0;
  {
    absl::StatusOr<std::unique_ptr<dprelay::Dataplane>> dp = dprelay::Dataplane::Create(config);
    if (!dp.ok()) {
      std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(dp.status().message()).c_str());
      rc = 1;
    } else {
      DPRELAY_LOG_INFO("dataplane running; control socket %s", config.ipc_socket);
      // Create started the port and listens on the IPC socket: serving from here.
      dprelay::net::ServiceNotifier notify;
      notify.Ready(absl::StrFormat("forwarding on %s, UDP port %u; control socket %s", FLAGS_port,
                                   config.relay_port, config.ipc_socket));
      (*dp)->Run(g_stop, &notify);
      notify.Stopping("stopping: signal");
      std::printf("%s\n", (*dp)->Report().c_str());
      std::fflush(stdout);
    }
  }
  dprelay::CleanupEal();
  return rc;
}
