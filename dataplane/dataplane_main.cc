// dprelay-dataplane: DPDK's argument convention, EAL options, then "--", then ours.
//   dprelay-dataplane -l 0-1 --no-huge -m 512 -- --port=af_xdp:eth1 --address=10.0.0.1/24
#include <gflags/gflags.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "dataplane/config.h"
#include "dataplane/dataplane.h"
#include "drivers/eal.h"
#include "net/peer_cred.h"
#include "net/service_notify.h"
#include "proto/log.h"
#include "proto/version.h"

DEFINE_string(port, "", "Device for the relay port: af_xdp:IFACE, af_packet:IFACE, null, dev:NAME");
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

absl::StatusOr<dprelay::DataplaneConfig> BuildConfig() {
  dprelay::DataplaneConfig c;
  if (FLAGS_port.empty()) {
    return absl::InvalidArgumentError("--port is required (e.g. --port=af_xdp:eth1)");
  }
  absl::StatusOr<dprelay::PortSpec> port = dprelay::ParsePortSpec(FLAGS_port);
  if (!port.ok()) {
    return port.status();
  }
  c.port = *port;
  if (FLAGS_address.empty()) {
    return absl::InvalidArgumentError("--address is required (e.g. --address=10.0.0.1/24)");
  }
  if (absl::Status st = dprelay::ParseAddressFlag(FLAGS_address, &c); !st.ok()) {
    return st;
  }
  if (FLAGS_relay_port == 0 || FLAGS_relay_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--relay_port=%u: must be 1..65535", FLAGS_relay_port));
  }
  c.relay_port = static_cast<uint16_t>(FLAGS_relay_port);
  if (!FLAGS_gateway.empty()) {
    if (absl::Status st = dprelay::ParseGatewayFlag(FLAGS_gateway, &c); !st.ok()) {
      return st;
    }
  }
  if (FLAGS_capacity == 0 || FLAGS_capacity > 0xFFFFFF) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--capacity=%u: must be 1..16777215", FLAGS_capacity));
  }
  c.capacity = FLAGS_capacity;
  c.ipc_socket = FLAGS_ipc_socket;
  if (!FLAGS_ipc_group.empty()) {
    absl::StatusOr<gid_t> group =
        dprelay::net::LookupGroup(FLAGS_ipc_group, "--ipc_group=" + FLAGS_ipc_group);
    if (!group.ok()) {
      return group.status();
    }
    c.ipc_group = *group;
  }
  c.idle_sleep_us = FLAGS_idle_sleep_us;
  c.stats_interval_s = FLAGS_stats_interval;
  c.exception_iface = FLAGS_exception_iface;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelay-dataplane")) {
    return 0;
  }
  // EAL gets what comes before "--", gflags what comes after.
  std::vector<char*> ours;
  const int split = dprelay::SplitEalArgs(argc, argv, &ours);
  int our_argc = static_cast<int>(ours.size());
  char** our_argv = ours.data();
  gflags::SetUsageMessage(
      "dprelay-dataplane [EAL options] -- --port=KIND:ARG --address=IP/PREFIX [options]");
  gflags::ParseCommandLineFlags(&our_argc, &our_argv, true);
  if (our_argc > 1) {
    std::fprintf(stderr, "dprelay-dataplane: unexpected argument '%s' after '--'\n", our_argv[1]);
    return 1;
  }
  if (absl::StatusOr<dprelay::LogLevel> level = dprelay::ParseLogLevel(FLAGS_log_level);
      level.ok()) {
    dprelay::SetLogLevel(*level);
  } else {
    std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(level.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<dprelay::DataplaneConfig> config = BuildConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }

  absl::StatusOr<int> eal = dprelay::InitEal(split, argv);
  if (!eal.ok()) {
    std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(eal.status().message()).c_str());
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  int rc = 0;
  {
    absl::StatusOr<std::unique_ptr<dprelay::Dataplane>> dp = dprelay::Dataplane::Create(*config);
    if (!dp.ok()) {
      std::fprintf(stderr, "dprelay-dataplane: %s\n", std::string(dp.status().message()).c_str());
      rc = 1;
    } else {
      DPRELAY_LOG_INFO("dataplane running; control socket %s", config->ipc_socket);
      // Create started the port and listens on the IPC socket: serving from here.
      dprelay::net::ServiceNotifier notify;
      notify.Ready(absl::StrFormat("forwarding on %s, UDP port %u; control socket %s", FLAGS_port,
                                   config->relay_port, config->ipc_socket));
      (*dp)->Run(g_stop, &notify);
      notify.Stopping("stopping: signal");
      std::printf("%s\n", (*dp)->Report().c_str());
      std::fflush(stdout);
    }
  }
  dprelay::CleanupEal();
  return rc;
}
