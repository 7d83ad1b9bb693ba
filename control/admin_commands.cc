#include "control/admin_commands.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/addr.h"
#include "proto/geneve.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

constexpr AdminOption kSessionsOptions[] = {
    {.name = "key",
     .value = AdminValue::kKeyPrefix,
     .help = "only sessions with a client key starting with this (hex, discokey: optional)"},
    {.name = "client",
     .value = AdminValue::kClient,
     .help = "only sessions with a leg bound at this IP or IP:PORT"},
    {.name = "vni", .value = AdminValue::kVni, .help = "only this VNI"},
    {.name = "format",
     .value = AdminValue::kFormat,
     .help = "text, json (as --json) or tailscale (tailscaled's peer relay ServerStatus JSON)"},
};

constexpr AdminOption kReloadOptions[] = {
    {.name = "evict-removed",
     .value = AdminValue::kNone,
     .help = "also end the live sessions of keys the new policy no longer allows"},
};

constexpr AdminOption kCountersOptions[] = {
    {.name = "all", .value = AdminValue::kNone, .help = "also the counters that are zero"},
    {.name = "watch",
     .value = AdminValue::kSeconds,
     .help = "show them again every N seconds, with per-second rates, until Ctrl-C",
     .local = true},
};

// The table. One entry per command; the order is the order of `help`.
const AdminCommand kAdminCommands[] = {
    {.name = "status",
     .cli = "status",
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminStatus,
     .help = "keys, addresses, dataplane, counts"},
    {.name = "sessions",
     .cli = "sessions",
     .options = kSessionsOptions,
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminSessions,
     .help = "per VNI: bound legs, short keys, packets, bytes"},
    {.name = "ping",
     .cli = "ping",
     .operand = "VNI",
     .operand_value = AdminValue::kVni,
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminPing,
     .help = "per leg: the relay's handshake round trip to the client, and when it was last "
             "heard"},
    {.name = "refusals",
     .cli = "refusals",
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminRefusals,
     .help = "refusals by reason and the most recent ones"},
    {.name = "counters",
     .cli = "counters",
     .options = kCountersOptions,
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminCounters,
     .help = "the dataplane's counters (non-zero ones), drops by reason, workers' busy ratio, "
             "rings, NIC xstats"},
    {.name = "reload",
     .cli = "reload",
     .options = kReloadOptions,
     .access = AdminAccess::kMutating,
     .handler = &AdminHandlers::AdminReload,
     .help = "re-read the policy file; lists the live sessions of keys it no longer allows"},
    {.name = "set-static-endpoints",
     .cli = "set static-endpoints",
     .operand = "IP:PORT[,IP:PORT...]|none|default",
     .operand_value = AdminValue::kEndpointList,
     .access = AdminAccess::kMutating,
     .handler = &AdminHandlers::AdminSetStaticEndpoints,
     .help = "replace the static endpoints (persisted); none: advertise no static endpoint; "
             "default: back to --static_endpoints/policy"},
    {.name = "evict",
     .cli = "evict",
     .operand = "VNI|KEY",
     .operand_value = AdminValue::kVniOrKey,
     .access = AdminAccess::kMutating,
     .handler = &AdminHandlers::AdminEvict,
     .help = "end a session (VNI) or every session of a client key (discokey:...) at once"},
    {.name = "version",
     .cli = "version",
     .access = AdminAccess::kReadOnly,
     .handler = &AdminHandlers::AdminVersion,
     .help = "dprelayctl's version and dprelay-control's"},
    {.name = "help",
     .cli = "help",
     .access = AdminAccess::kReadOnly,
     .handler = nullptr,
     .help = "this list"},
};

bool IsHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// Checks one value; errors name the command and the word ("ping: \"x3\" is not a VNI ...").
absl::Status CheckValue(const AdminCommand& command, absl::string_view what, AdminValue kind,
                        const std::string& value) {
  const std::string where =
      what.empty() ? absl::StrCat(command.cli, ": ") : absl::StrCat(command.cli, ": ", what, ": ");
  auto bad = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(absl::StrCat(where, "\"", value, "\" is not ", expected));
  };
  switch (kind) {
    case AdminValue::kNone:
      if (!value.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "takes no value"));
      }
      return absl::OkStatus();
    case AdminValue::kVni: {
      uint32_t vni = 0;
      if (!absl::SimpleAtoi(value, &vni) || vni == 0 || vni > kMaxVni) {
        return bad("a VNI (1..16777215)");
      }
      return absl::OkStatus();
    }
    case AdminValue::kKeyPrefix: {
      absl::string_view hex = value;
      absl::ConsumePrefix(&hex, "discokey:");
      if (hex.empty() || hex.size() > 2 * kKeyLen || !IsHex(hex)) {
        return bad("a disco key prefix (hex digits, optionally after discokey:)");
      }
      return absl::OkStatus();
    }
    case AdminValue::kClient:
      if (!ParseIp(value).ok() && !ParseAddrPort(value).ok()) {
        return bad("a client address (IP or IP:PORT, [IPv6]:PORT)");
      }
      return absl::OkStatus();
    case AdminValue::kVniOrKey: {
      uint32_t vni = 0;
      if (value.size() < 2 * kKeyLen && absl::SimpleAtoi(value, &vni) && vni != 0 &&
          vni <= kMaxVni) {
        return absl::OkStatus();
      }
      if (ParseDiscoKey(value).ok() || ParseDiscoKey(absl::StrCat("discokey:", value)).ok()) {
        return absl::OkStatus();
      }
      return bad("a VNI (1..16777215) or a disco key (discokey:<64 hex digits>)");
    }
    case AdminValue::kEndpointList:
      if (value.empty()) {
        return bad("IP:PORT[,IP:PORT...], none or default");
      }
      return absl::OkStatus();
    case AdminValue::kSeconds: {
      uint32_t seconds = 0;
      if (!absl::SimpleAtoi(value, &seconds) || seconds == 0 || seconds > 3600) {
        return bad("a number of seconds (1..3600)");
      }
      return absl::OkStatus();
    }
    case AdminValue::kFormat:
      if (value != "text" && value != "json" && value != "tailscale") {
        return bad("a format (text, json or tailscale)");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

const AdminOption* FindOption(const AdminCommand& command, absl::string_view name) {
  for (const AdminOption& o : command.options) {
    if (o.name == name) {
      return &o;
    }
  }
  return nullptr;
}

std::string Synopsis(const AdminCommand& c) {
  std::string out(c.cli);
  if (!c.operand.empty()) {
    absl::StrAppend(
        &out, " ", c.operand_optional ? absl::StrCat("[", c.operand, "]") : std::string(c.operand));
  }
  for (const AdminOption& o : c.options) {
    absl::StrAppend(&out, " [--", o.name, o.value == AdminValue::kNone ? "]" : "=...]");
  }
  return out;
}

}  // namespace

bool AdminCall::Has(absl::string_view option) const { return Get(option).has_value(); }

std::optional<std::string> AdminCall::Get(absl::string_view option) const {
  for (const auto& [name, value] : options) {
    if (name == option) {
      return value;
    }
  }
  return std::nullopt;
}

std::span<const AdminCommand> AdminCommands() { return kAdminCommands; }

const AdminCommand* FindAdminCommand(absl::string_view name) {
  for (const AdminCommand& c : kAdminCommands) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const AdminCommand* MatchAdminCommand(std::span<const std::string> words, size_t* name_words) {
  for (const AdminCommand& c : kAdminCommands) {
    std::vector<absl::string_view> cli = absl::StrSplit(c.cli, ' ');
    if (cli.size() <= words.size() &&
        std::equal(cli.begin(), cli.end(), words.begin(),
                   [](absl::string_view a, const std::string& b) { return a == b; })) {
      *name_words = cli.size();
      return &c;
    }
  }
  // The wire name works too ("set-static-endpoints").
  if (!words.empty()) {
    if (const AdminCommand* c = FindAdminCommand(words[0]); c != nullptr) {
      *name_words = 1;
      return c;
    }
  }
  return nullptr;
}

absl::StatusOr<AdminCall> ParseAdminArgs(const AdminCommand& command,
                                         std::span<const std::string> words) {
  AdminCall call{.command = &command};
  bool have_operand = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (absl::StartsWith(word, "--")) {
      absl::string_view body = absl::string_view(word).substr(2);
      const size_t eq = body.find('=');
      const std::string name(body.substr(0, eq));
      const AdminOption* option = FindOption(command, name);
      if (option == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(command.cli, ": unknown option \"--", name, "\""));
      }
      std::string value = eq == absl::string_view::npos ? "" : std::string(body.substr(eq + 1));
      if (option->value != AdminValue::kNone && eq == absl::string_view::npos) {
        // "--watch 2" as well as "--watch=2", as command lines are typed.
        if (i + 1 == words.size() || absl::StartsWith(words[i + 1], "--")) {
          return absl::InvalidArgumentError(
              absl::StrCat(command.cli, ": --", name, " needs a value (--", name, "=...)"));
        }
        value = words[++i];
      }
      if (absl::Status s = CheckValue(command, absl::StrCat("--", name), option->value, value);
          !s.ok()) {
        return s;
      }
      if (call.Has(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(command.cli, ": --", name, " given more than once"));
      }
      call.options.emplace_back(name, value);
      continue;
    }
    if (command.operand.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(command.cli, " takes no argument (got \"", word, "\")"));
    }
    if (have_operand) {
      return absl::InvalidArgumentError(absl::StrCat(command.cli, " takes one ", command.operand,
                                                     " (got a second: \"", word, "\")"));
    }
    if (absl::Status s = CheckValue(command, "", command.operand_value, word); !s.ok()) {
      return s;
    }
    call.operand = word;
    have_operand = true;
  }
  if (!command.operand.empty() && !command.operand_optional && !have_operand) {
    return absl::InvalidArgumentError(
        absl::StrCat(command.cli, " needs ", command.operand, " (", Synopsis(command), ")"));
  }
  return call;
}

std::vector<std::string> FormatAdminArgs(const AdminCall& call) {
  std::vector<std::string> words;
  if (!call.operand.empty()) {
    words.push_back(call.operand);
  }
  for (const auto& [name, value] : call.options) {
    const AdminOption* o = FindOption(*call.command, name);
    if (o != nullptr && o->local) {
      continue;
    }
    words.push_back(o != nullptr && o->value == AdminValue::kNone
                        ? absl::StrCat("--", name)
                        : absl::StrCat("--", name, "=", value));
  }
  return words;
}

std::string AdminHelpText() {
  std::string out = "commands:\n";
  for (const AdminCommand& c : kAdminCommands) {
    absl::StrAppend(&out, "  ", Synopsis(c), "\n      ", c.help,
                    c.access == AdminAccess::kMutating ? " (changes the relay)" : "", "\n");
    for (const AdminOption& o : c.options) {
      absl::StrAppend(&out, "      --", o.name, o.value == AdminValue::kNone ? "  " : "=...  ",
                      o.help, "\n");
    }
  }
  return out;
}

std::string AdminBashCompletion() {
  std::vector<absl::string_view> commands;  // first words, once each ("set" for set ...)
  std::string cases;
  for (const AdminCommand& c : kAdminCommands) {
    std::vector<absl::string_view> cli = absl::StrSplit(c.cli, ' ');
    if (std::find(commands.begin(), commands.end(), cli[0]) == commands.end()) {
      commands.push_back(cli[0]);
    }
    std::vector<std::string> words;
    for (size_t i = 1; i < cli.size(); ++i) {
      words.emplace_back(cli[i]);
    }
    for (const AdminOption& o : c.options) {
      words.push_back(absl::StrCat("--", o.name, o.value == AdminValue::kNone ? "" : "="));
    }
    if (!words.empty()) {
      absl::StrAppend(&cases, "    ", cli[0], ") opts=\"", absl::StrJoin(words, " "), "\" ;;\n");
    }
  }
  return absl::StrCat(
      "# bash completion for dprelayctl. Generated from the admin command table\n"
      "# (control/admin_commands.cc) by `dprelayctl --print_bash_completion`; do not edit.\n"
      "_dprelayctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} cmd='' opts='' i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n"
      "  done\n"
      "  if [ -z \"$cmd\" ]; then\n"
      "    opts=\"",
      absl::StrJoin(commands, " "),
      " --socket= --json --timeout= --version --help\"\n"
      "  else\n"
      "    case $cmd in\n",
      cases,
      "    esac\n"
      "  fi\n"
      "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "  [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace\n"
      "}\n"
      "complete -F _dprelayctl dprelayctl\n");
}

}  // namespace dprelay::control
