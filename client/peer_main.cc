// dprelay-peer: a client of the relay over kernel UDP sockets.
//
//   dprelay-peer genkey   --key_file=PATH [--force]
//   dprelay-peer pubkey   --key_file=PATH
//   dprelay-peer allocate --key_file=PATH --peer=discokey:.. --control=IP:PORT
//                         --control_key=discokey:.. [--timeout=10s] [--local=IP:PORT]
//   dprelay-peer run      --key_file=PATH --peer=discokey:.. --control=IP:PORT
//                         --control_key=discokey:.. [--local=IP:PORT] [--count=10] [--size=100]
//                         [--pings=3] [--pps=1000] [--timeout=20s]
//   dprelay-peer send-raw --relay=IP:PORT --vni=N [--count=10] [--size=64] [--local=IP:PORT]
//   dprelay-peer wg       --key_file=PATH --peer=discokey:.. --control=IP:PORT
//                         --control_key=discokey:.. --wg_listen=IP:PORT [--wg_endpoint=IP:PORT]
//                         [--local=IP:PORT] [--ping_interval=2s] [--dead_after=8s]
//
// Exit codes: 0 success (`wg`: stopped by SIGINT/SIGTERM); 1 `run` finished but did not
// receive everything intact or never got a pong; 2 bad usage or an error (key file,
// allocation, handshake, socket).

#include <gflags/gflags.h>
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/allocate.h"
#include "client/key_file.h"
#include "client/payload.h"
#include "client/peer_run.h"
#include "client/send_raw.h"
#include "client/udp_socket.h"
#include "client/wg_bridge.h"
#include "proto/addr.h"
#include "proto/geneve.h"
#include "proto/key.h"
#include "proto/cli_help.h"
#include "proto/version.h"

DEFINE_string(key_file, "", "private key file (privkey:<hex>, mode 0600)");
DEFINE_bool(force, false, "genkey: replace an existing key file");
DEFINE_string(peer, "", "the other client's public key, discokey:<hex>");
DEFINE_string(control, "", "the relay's allocation socket, IP:PORT");
DEFINE_string(control_key, "", "the relay's control public key, discokey:<hex>");
DEFINE_string(local, "",
              "local IP:PORT to bind (default 0.0.0.0:0, or [::]:0 when the target is IPv6)");
DEFINE_string(timeout, "", "allocate: allocation timeout (default 10s); run: whole run (20s)");
DEFINE_uint64(count, 10, "run, send-raw: data packets to send (run: and to expect)");
DEFINE_uint64(size, 0, "payload bytes per data packet (run: default 100; send-raw: 64)");
DEFINE_int32(pings, 3, "run: measured pings after the peer first answers");
DEFINE_double(pps, 1000, "run: data packets per second (0 = unpaced)");
DEFINE_string(relay, "", "send-raw: relay address IP:PORT");
DEFINE_uint32(vni, 0, "send-raw: VNI to put in the Geneve header");
DEFINE_string(wg_listen, "", "wg: IP:PORT the local WireGuard's peer endpoint points at");
DEFINE_string(wg_endpoint, "",
              "wg: the local WireGuard's own IP:PORT (default: learned from its first datagram)");
DEFINE_string(ping_interval, "2s", "wg: disco ping through the relay this often");
DEFINE_string(dead_after, "8s", "wg: no pong for this long means the path is gone: rebind");

namespace dprelay::client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitError = 2;

constexpr char kUsage[] =
    "usage: dprelay-peer <genkey|pubkey|allocate|run|send-raw|wg> [--flag=value ...]";

struct Command {
  std::string synopsis;
  std::vector<std::string> required;  // reported in this order when missing
  std::set<std::string> optional;
};

const std::map<std::string, Command>& Commands() {
  static const auto* const kCommands = new std::map<std::string, Command>{
      {"genkey", {"genkey --key_file=PATH [--force]", {"key_file"}, {"force"}}},
      {"pubkey", {"pubkey --key_file=PATH", {"key_file"}, {}}},
      {"allocate",
       {"allocate --key_file=PATH --peer=discokey:<hex> --control=IP:PORT "
        "--control_key=discokey:<hex> [--timeout=10s] [--local=IP:PORT]",
        {"key_file", "peer", "control", "control_key"},
        {"timeout", "local"}}},
      {"run",
       {"run --key_file=PATH --peer=discokey:<hex> --control=IP:PORT "
        "--control_key=discokey:<hex> [--local=IP:PORT] [--count=10] [--size=100] [--pings=3] "
        "[--pps=1000] [--timeout=20s]",
        {"key_file", "peer", "control", "control_key"},
        {"local", "count", "size", "pings", "pps", "timeout"}}},
      {"send-raw",
       {"send-raw --relay=IP:PORT --vni=N [--count=10] [--size=64] [--local=IP:PORT]",
        {"relay", "vni"},
        {"count", "size", "local"}}},
      {"wg",
       {"wg --key_file=PATH --peer=discokey:<hex> --control=IP:PORT --control_key=discokey:<hex> "
        "--wg_listen=IP:PORT [--wg_endpoint=IP:PORT] [--local=IP:PORT] [--ping_interval=2s] "
        "[--dead_after=8s]",
        {"key_file", "peer", "control", "control_key", "wg_listen"},
        {"wg_endpoint", "local", "ping_interval", "dead_after"}}},
  };
  return *kCommands;
}

void PrintLine(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  // Tests and the demo read the output as it comes.
  std::fflush(stdout);
}

// Usage problems are one line on stderr: what is wrong, then the usage that applies.
int UsageError(const std::string& message) {
  std::fprintf(stderr, "dprelay-peer: %s; %s\n", message.c_str(), kUsage);
  return kExitError;
}

int Fail(const std::string& command, const absl::Status& status) {
  std::fprintf(stderr, "dprelay-peer %s: %s\n", command.c_str(),
               absl::StrCat(status.message()).c_str());
  return kExitError;
}

// Sets the flags in argv[first..] through gflags' registry, without letting gflags exit on
// a bad one: every problem comes back as a message naming the flag. `seen` gets each flag.
absl::Status ParseFlags(int argc, char** argv, int first, const Command& command,
                        const std::string& name, std::set<std::string>* seen) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("-")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    arg.erase(0, arg.starts_with("--") ? 2 : 1);
    const size_t eq = arg.find('=');
    std::string flag = arg.substr(0, eq);
    std::optional<std::string> value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    }

    gflags::CommandLineFlagInfo info;
    bool known = gflags::GetCommandLineFlagInfo(flag.c_str(), &info);
    if (!known && !value && flag.starts_with("no") &&
        gflags::GetCommandLineFlagInfo(flag.substr(2).c_str(), &info) && info.type == "bool") {
      flag = flag.substr(2);
      value = "false";
      known = true;
    }
    const bool applies =
        command.optional.contains(flag) ||
        std::find(command.required.begin(), command.required.end(), flag) != command.required.end();
    if (!known || !applies) {
      return absl::InvalidArgumentError(
          absl::StrCat(known ? "flag --" : "unknown flag --", flag,
                       known ? absl::StrCat(" does not apply to ", name) : ""));
    }
    if (!value) {
      if (info.type == "bool") {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", flag, " needs a value"));
      }
    }
    if (gflags::SetCommandLineOption(flag.c_str(), value->c_str()).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", *value, "' for flag --", flag, " (", info.type, ")"));
    }
    seen->insert(flag);
  }
  for (const std::string& flag : command.required) {
    if (!seen->contains(flag)) {
      return absl::InvalidArgumentError(absl::StrCat("missing required flag --", flag));
    }
  }
  return absl::OkStatus();
}

// "10s", "1.5m", "250ms"; a bare number means seconds. Errors name --flag.
absl::StatusOr<absl::Duration> ParseDurationFlag(const char* flag, const std::string& text,
                                                 absl::Duration fallback) {
  if (text.empty()) {
    return fallback;
  }
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", flag, ": '", text, "' is not a duration such as 10s"));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("flag --", flag, ": '", text, "' must be > 0"));
  }
  return d;
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text, absl::Duration fallback) {
  return ParseDurationFlag("timeout", text, fallback);
}

// Debian's Abseil has its own string_view type, so trim into a std::string_view explicitly.
std::string_view Trim(const std::string& text) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  return std::string_view(t.data(), t.size());
}

absl::StatusOr<DiscoKey> KeyFlag(const char* flag, const std::string& text) {
  absl::StatusOr<DiscoKey> key = ParseDiscoKey(Trim(text));
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flag --", flag, ": ", key.status().message()));
  }
  if (absl::Status s = ValidatePeerKey(*key); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flag --", flag, ": ", s.message()));
  }
  return key;
}

absl::StatusOr<AddrPort> AddrFlag(const char* flag, const std::string& text) {
  absl::StatusOr<AddrPort> ap = ParseAddrPort(Trim(text));
  if (!ap.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flag --", flag, ": ", ap.status().message()));
  }
  // [::ffff:a.b.c.d] means a.b.c.d: replies are matched against it in that form.
  ap->ip = ap->ip.Unmapped();
  return ap;
}

// --local, or the unspecified address of the target's family (IPv6 sockets are dual-stack).
absl::StatusOr<AddrPort> LocalFlag(const AddrPort& target) {
  if (!FLAGS_local.empty()) {
    return AddrFlag("local", FLAGS_local);
  }
  return AddrFlag("local", target.ip.is_v6() ? "[::]:0" : "0.0.0.0:0");
}

// The inputs shared by allocate and run.
struct ClientArgs {
  DiscoKeyPair self;
  DiscoKey peer;
  AddrPort control;
  DiscoKey control_key;
  AddrPort local;
};

absl::StatusOr<ClientArgs> ReadClientArgs() {
  ClientArgs args;
  absl::StatusOr<DiscoKey> peer = KeyFlag("peer", FLAGS_peer);
  if (!peer.ok()) {
    return peer.status();
  }
  absl::StatusOr<AddrPort> control = AddrFlag("control", FLAGS_control);
  if (!control.ok()) {
    return control.status();
  }
  absl::StatusOr<DiscoKey> control_key = KeyFlag("control_key", FLAGS_control_key);
  if (!control_key.ok()) {
    return control_key.status();
  }
  absl::StatusOr<AddrPort> local = LocalFlag(*control);
  if (!local.ok()) {
    return local.status();
  }
  absl::StatusOr<DiscoKeyPair> self = ReadKeyFile(FLAGS_key_file);
  if (!self.ok()) {
    return self.status();
  }
  if (*peer == self->pub) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --peer: is the public key of --key_file ", FLAGS_key_file));
  }
  args.self = *self;
  args.peer = *peer;
  args.control = *control;
  args.control_key = *control_key;
  args.local = *local;
  return args;
}

int GenKey() {
  DiscoKeyPair pair = GenerateKeyPair();
  if (absl::Status s = WriteKeyFile(FLAGS_key_file, pair.priv, FLAGS_force); !s.ok()) {
    return Fail("genkey", s);
  }
  PrintLine(FormatDiscoKey(pair.pub));
  return kExitOk;
}

int PubKey() {
  absl::StatusOr<DiscoKeyPair> pair = ReadKeyFile(FLAGS_key_file);
  if (!pair.ok()) {
    return Fail("pubkey", pair.status());
  }
  PrintLine(FormatDiscoKey(pair->pub));
  return kExitOk;
}

int AllocateCommand() {
  absl::StatusOr<ClientArgs> args = ReadClientArgs();
  if (!args.ok()) {
    return Fail("allocate", args.status());
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(FLAGS_timeout, absl::Seconds(10));
  if (!timeout.ok()) {
    return Fail("allocate", timeout.status());
  }
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(args->local);
  if (!socket.ok()) {
    return Fail("allocate", socket.status());
  }
  AllocateConfig config;
  config.self = args->self;
  config.peer = args->peer;
  config.control = args->control;
  config.control_key = args->control_key;
  config.timeout = *timeout;
  absl::StatusOr<UdpRelayEndpoint> endpoint = Allocate(config, *socket);
  if (!endpoint.ok()) {
    return Fail("allocate", endpoint.status());
  }
  PrintLine(FormatAllocation(*endpoint));
  return kExitOk;
}

int RunCommand(const std::set<std::string>& seen) {
  absl::StatusOr<ClientArgs> args = ReadClientArgs();
  if (!args.ok()) {
    return Fail("run", args.status());
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(FLAGS_timeout, absl::Seconds(20));
  if (!timeout.ok()) {
    return Fail("run", timeout.status());
  }
  const uint64_t size = seen.contains("size") ? FLAGS_size : 100;
  if (size < kPayloadSeqLen || size > kMaxPayloadLen) {
    return Fail("run",
                absl::InvalidArgumentError(absl::StrCat("flag --size: ", size, " is outside ",
                                                        kPayloadSeqLen, "..", kMaxPayloadLen)));
  }
  if (FLAGS_pings < 0) {
    return Fail("run", absl::InvalidArgumentError("flag --pings: must be >= 0"));
  }
  if (!(FLAGS_pps >= 0)) {
    return Fail("run", absl::InvalidArgumentError("flag --pps: must be >= 0"));
  }
  PeerRunConfig config;
  config.self = args->self;
  config.peer = args->peer;
  config.control = args->control;
  config.control_key = args->control_key;
  config.local = args->local;
  config.count = FLAGS_count;
  config.size = size;
  config.pings = FLAGS_pings;
  config.packets_per_second = FLAGS_pps;
  config.timeout = *timeout;
  absl::StatusOr<PeerRunResult> result = RunPeer(config, PrintLine);
  if (!result.ok()) {
    return Fail("run", result.status());
  }
  return result->ok() ? kExitOk : kExitFailed;
}

int SendRawCommand(const std::set<std::string>& seen) {
  absl::StatusOr<AddrPort> relay = AddrFlag("relay", FLAGS_relay);
  if (!relay.ok()) {
    return Fail("send-raw", relay.status());
  }
  if (FLAGS_vni == 0 || FLAGS_vni > kMaxVni) {
    return Fail("send-raw", absl::InvalidArgumentError(absl::StrCat("flag --vni: ", FLAGS_vni,
                                                                    " is outside 1..", kMaxVni)));
  }
  absl::StatusOr<AddrPort> local = LocalFlag(*relay);
  if (!local.ok()) {
    return Fail("send-raw", local.status());
  }
  SendRawConfig config;
  config.relay = *relay;
  config.vni = FLAGS_vni;
  config.count = FLAGS_count;
  config.local = *local;
  if (seen.contains("size")) {
    config.size = FLAGS_size;
  }
  if (config.size > kMaxPayloadLen) {
    return Fail("send-raw", absl::InvalidArgumentError(absl::StrCat("flag --size: ", config.size,
                                                                    " is above ", kMaxPayloadLen)));
  }
  absl::StatusOr<uint64_t> sent = SendRaw(config);
  if (!sent.ok()) {
    return Fail("send-raw", sent.status());
  }
  PrintLine(absl::StrCat("sent=", *sent));
  return kExitOk;
}

// Set from signal handlers (lock-free atomics are async-signal-safe), read by the bridge.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_move{false};
static_assert(std::atomic<bool>::is_always_lock_free);

// No SA_RESTART: a signal ends the bridge's poll() at once.
void InstallSignal(int sig, void (*handler)(int)) {
  struct sigaction sa = {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
}

int WgCommand() {
  absl::StatusOr<ClientArgs> args = ReadClientArgs();
  if (!args.ok()) {
    return Fail("wg", args.status());
  }
  WgBridgeConfig config;
  config.self = args->self;
  config.peer = args->peer;
  config.control = args->control;
  config.control_key = args->control_key;
  config.local = args->local;
  absl::StatusOr<AddrPort> wg_listen = AddrFlag("wg_listen", FLAGS_wg_listen);
  if (!wg_listen.ok()) {
    return Fail("wg", wg_listen.status());
  }
  config.wg_listen = *wg_listen;
  if (!FLAGS_wg_endpoint.empty()) {
    absl::StatusOr<AddrPort> wg_endpoint = AddrFlag("wg_endpoint", FLAGS_wg_endpoint);
    if (!wg_endpoint.ok()) {
      return Fail("wg", wg_endpoint.status());
    }
    if (wg_endpoint->port == 0) {
      return Fail("wg", absl::InvalidArgumentError(absl::StrCat(
                            "flag --wg_endpoint: ", FLAGS_wg_endpoint, " has no port")));
    }
    config.wg_endpoint = *wg_endpoint;
  }
  absl::StatusOr<absl::Duration> ping_interval =
      ParseDurationFlag("ping_interval", FLAGS_ping_interval, absl::Seconds(2));
  if (!ping_interval.ok()) {
    return Fail("wg", ping_interval.status());
  }
  absl::StatusOr<absl::Duration> dead_after =
      ParseDurationFlag("dead_after", FLAGS_dead_after, absl::Seconds(8));
  if (!dead_after.ok()) {
    return Fail("wg", dead_after.status());
  }
  if (*dead_after <= *ping_interval) {
    return Fail("wg", absl::InvalidArgumentError(absl::StrCat(
                          "flag --dead_after: ", FLAGS_dead_after,
                          " must be longer than --ping_interval ", FLAGS_ping_interval)));
  }
  config.path.ping_interval = *ping_interval;
  config.path.dead_after = *dead_after;

  InstallSignal(SIGINT, [](int) { g_stop.store(true); });
  InstallSignal(SIGTERM, [](int) { g_stop.store(true); });
  InstallSignal(SIGUSR1, [](int) { g_move.store(true); });
  absl::StatusOr<WgBridgeStats> stats =
      RunWgBridge(config, PrintLine, WgBridgeControl{.stop = &g_stop, .move = &g_move});
  if (!stats.ok()) {
    return Fail("wg", stats.status());
  }
  PrintLine(absl::StrCat("bridge ", stats->Format()));
  return kExitOk;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    return UsageError("missing subcommand");
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    std::printf("%s\n", kUsage);
    for (const auto& [unused, command] : Commands()) {
      std::printf("  dprelay-peer %s\n", command.synopsis.c_str());
    }
    return kExitOk;
  }
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    return UsageError(absl::StrCat("unknown subcommand '", name, "'"));
  }
  const Command& command = it->second;
  std::set<std::string> seen;
  if (absl::Status s = ParseFlags(argc, argv, 2, command, name, &seen); !s.ok()) {
    std::fprintf(stderr, "dprelay-peer %s: %s; usage: dprelay-peer %s\n", name.c_str(),
                 absl::StrCat(s.message()).c_str(), command.synopsis.c_str());
    return kExitError;
  }
  if (sodium_init() < 0) {
    return Fail(name, absl::InternalError("libsodium failed to initialise"));
  }
  if (name == "genkey") {
    return GenKey();
  }
  if (name == "pubkey") {
    return PubKey();
  }
  if (name == "allocate") {
    return AllocateCommand();
  }
  if (name == "run") {
    return RunCommand(seen);
  }
  if (name == "wg") {
    return WgCommand();
  }
  return SendRawCommand(seen);
}

}  // namespace
}  // namespace dprelay::client

int main(int argc, char** argv) {
  if (dprelay::PrintVersionIfAsked(argc, argv, "dprelay-peer")) {
    return 0;
  }
  gflags::SetUsageMessage(dprelay::client::kUsage);
  if (dprelay::PrintHelpIfAsked(argc, argv)) {
    return 0;
  }
  return dprelay::client::Main(argc, argv);
}
