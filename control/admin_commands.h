// The admin commands, described once (issue 11 "The admin commands live in one table"): their
// names, what they take, whether they change anything, who handles them in dprelay-control and
// their help text. dprelayctl checks its command line against this table and generates `help`
// and the bash completion from it; dprelay-control parses each request against it, checks the
// caller's access and dispatches to the handler.
//
// A command's words after its name (its arguments) are the same on the command line and on
// the wire (control/admin_protocol.h): an optional operand, then options "--name" or
// "--name=value", one word each. Both ends parse them with ParseAdminArgs, so what dprelayctl
// accepts the server accepts too.
//
// Adding a command: one entry in kAdminCommands (admin_commands.cc), one virtual in
// AdminHandlers, implemented by ControlServer (control/control_admin.cc).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dprelay::control {

// Who may run a command when the admin socket is opened to an operator group
// (--admin_group): members run read-only ones; mutating ones need root or control's own uid.
enum class AdminAccess { kReadOnly, kMutating };

// What an operand or an option's value must be. Checked the same way on both ends.
enum class AdminValue {
  kNone,          // a bare option ("--evict-removed"); for an operand: the command takes none
  kVni,           // 1..16777215
  kKeyPrefix,     // hex digits, optionally after "discokey:": a prefix of a client's disco key
  kClient,        // an IP address or IP:port (brackets for IPv6 with a port)
  kVniOrKey,      // a VNI, or a whole disco key (discokey:<64 hex> or the 64 hex digits)
  kEndpointList,  // one word: ip:port[,ip:port...], "none" or "default" (checked by the handler)
  kFormat,        // text | json | tailscale
  kSeconds,       // a whole number of seconds, 1..3600
};

struct AdminOption {
  absl::string_view name;  // without the leading "--"
  AdminValue value;
  absl::string_view help;
  bool local = false;  // handled by dprelayctl itself, never sent (counters --watch)
};

class AdminHandlers;
struct AdminCall;
using AdminReply = std::function<void(const absl::StatusOr<std::string>& body)>;
// A pointer to the AdminHandlers member that answers a command.
using AdminHandler = void (AdminHandlers::*)(const AdminCall& call, AdminReply reply);

struct AdminCommand {
  absl::string_view name;     // on the wire: "set-static-endpoints"
  absl::string_view cli;      // as typed: "set static-endpoints"
  absl::string_view operand;  // its placeholder in help ("VNI"), empty if none
  AdminValue operand_value = AdminValue::kNone;
  bool operand_optional = false;
  std::span<const AdminOption> options;
  AdminAccess access = AdminAccess::kReadOnly;
  // Answered by dprelay-control; nullptr for what dprelayctl answers alone (help).
  AdminHandler handler = nullptr;
  absl::string_view help;  // one line
};

// A request checked against its command: the operand and the options given.
struct AdminCall {
  const AdminCommand* command = nullptr;
  bool json = false;                                         // the request's text|json (and --json)
  std::string operand;                                       // empty if none
  std::vector<std::pair<std::string, std::string>> options;  // in the order given

  bool Has(absl::string_view option) const;
  // The option's value, if given.
  std::optional<std::string> Get(absl::string_view option) const;
};

// Implemented by dprelay-control: one member per command with a handler.
class AdminHandlers {
 public:
  virtual ~AdminHandlers() = default;
  virtual void AdminStatus(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminSessions(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminPing(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminRefusals(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminReload(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminSetStaticEndpoints(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminEvict(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminVersion(const AdminCall& call, AdminReply reply) = 0;
  virtual void AdminCounters(const AdminCall& call, AdminReply reply) = 0;
};

std::span<const AdminCommand> AdminCommands();
// By wire name, or nullptr.
const AdminCommand* FindAdminCommand(absl::string_view name);
// The command the command-line words start with ("set" "static-endpoints" -> that entry) and
// how many words its name took; nullptr if none.
const AdminCommand* MatchAdminCommand(std::span<const std::string> words, size_t* name_words);

// Checks `words` (the command's arguments) against it. Errors name the command and the word.
absl::StatusOr<AdminCall> ParseAdminArgs(const AdminCommand& command,
                                         std::span<const std::string> words);
// The words back, normalised (operand first, then options as given): what goes on the wire
// (local options left out).
std::vector<std::string> FormatAdminArgs(const AdminCall& call);

// `dprelayctl help`: every command with its operand, options and help line.
std::string AdminHelpText();
// A bash completion script for dprelayctl (conf/dprelayctl.bash-completion).
std::string AdminBashCompletion();

}  // namespace dprelay::control
