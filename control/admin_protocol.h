// The admin API between dprelayctl and dprelay-control (DESIGN.md §4 "Admin API"): a unix
// SOCK_STREAM socket (mode 0600), one request per connection.
//
//   request:  "DPRELAY-ADMIN/1 <text|json> <command> [argument]\n"    (at most 4 KiB)
//   response: "OK\n" then the body, or "ERROR <one line>\n"; the server then closes.
//
// Commands: status, sessions, ping <vni>, refusals, reload,
// set-static-endpoints <list|none|default>, counters [all].
// A request with another version gets "ERROR unsupported admin protocol version ...", so a
// newer dprelayctl fails with a clear line rather than misreading an older server.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dprelay::control {

inline constexpr int kAdminProtocolVersion = 1;
inline constexpr size_t kMaxAdminRequestLen = 4096;
inline constexpr char kDefaultAdminSocket[] = "/run/dprelay/control.sock";

struct AdminRequest {
  bool json = false;
  std::string command;
  std::string argument;  // may be empty
};

std::string FormatAdminRequest(const AdminRequest& request);
// line excludes the trailing newline. Errors say what is wrong, for the ERROR response.
absl::StatusOr<AdminRequest> ParseAdminRequest(std::string_view line);

std::string FormatAdminResponse(const absl::StatusOr<std::string>& body);
// The body of an OK response, or the server's error as a status.
absl::StatusOr<std::string> ParseAdminResponse(std::string_view response);

}  // namespace dprelay::control
