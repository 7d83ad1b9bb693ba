#include "control/admin_protocol.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dprelay::control {
namespace {

constexpr char kMagic[] = "DPRELAY-ADMIN/";

}  // namespace

std::string FormatAdminRequest(const AdminRequest& request) {
  std::string line = absl::StrCat(kMagic, kAdminProtocolVersion, " ",
                                  request.json ? "json" : "text", " ", request.command);
  if (!request.argument.empty()) {
    absl::StrAppend(&line, " ", request.argument);
  }
  line.push_back('\n');
  return line;
}

absl::StatusOr<AdminRequest> ParseAdminRequest(std::string_view std_line) {
  absl::string_view line(std_line.data(), std_line.size());
  // A CR (a client's CRLF) or other trailing whitespace is not part of the last word: stripped
  // whole, so that what parses formats back to the same request (fuzz_admin found "x\r " read
  // as the argument "x\r").
  line = absl::StripTrailingAsciiWhitespace(line);
  std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (words.empty() || !absl::ConsumePrefix(&words[0], kMagic)) {
    return absl::InvalidArgumentError("not a dprelay admin request");
  }
  int version = 0;
  if (!absl::SimpleAtoi(words[0], &version) || version != kAdminProtocolVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported admin protocol version ", words[0],
                                                   " (this server speaks ", kAdminProtocolVersion,
                                                   ")"));
  }
  if (words.size() < 3 || (words[1] != "text" && words[1] != "json")) {
    return absl::InvalidArgumentError(
        "malformed request: expected <text|json> <command> [argument...]");
  }
  AdminRequest r;
  r.json = words[1] == "json";
  r.command = std::string(words[2]);
  r.argument = absl::StrJoin(words.begin() + 3, words.end(), " ");
  return r;
}

std::string FormatAdminResponse(const absl::StatusOr<std::string>& body) {
  if (body.ok()) {
    return absl::StrCat("OK\n", *body);
  }
  return absl::StrCat(
      "ERROR ", absl::StrReplaceAll(body.status().message(), {{"\n", " "}, {"\r", " "}}), "\n");
}

absl::StatusOr<std::string> ParseAdminResponse(std::string_view std_response) {
  absl::string_view response(std_response.data(), std_response.size());
  if (absl::ConsumePrefix(&response, "OK\n")) {
    return std::string(response);
  }
  if (absl::ConsumePrefix(&response, "ERROR ")) {
    return absl::FailedPreconditionError(absl::StripSuffix(response, "\n"));
  }
  return absl::DataLossError("dprelay-control sent a response this dprelayctl does not understand");
}

}  // namespace dprelay::control
