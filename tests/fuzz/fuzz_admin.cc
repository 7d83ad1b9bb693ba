// The admin API's request line and response (control/admin_protocol.h), which the admin socket
// reads from any local client and dprelayctl reads from the server: any bytes are accepted or
// refused with an error, never a crash; what parses formats back to the same request; any body
// or error message survives a response's round trip (an error's line breaks become spaces).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "control/admin_protocol.h"
#include "fuzz_check.h"

namespace dprelay::control {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (absl::StatusOr<AdminRequest> r = ParseAdminRequest(text); r.ok()) {
    FUZZ_CHECK(!r->command.empty());
    std::string line = FormatAdminRequest(*r);
    FUZZ_CHECK(!line.empty() && line.back() == '\n');
    line.pop_back();
    absl::StatusOr<AdminRequest> back = ParseAdminRequest(line);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->json == r->json && back->command == r->command &&
               back->argument == r->argument);
  } else {
    FUZZ_CHECK(!r.status().message().empty());
  }

  if (absl::StatusOr<std::string> body = ParseAdminResponse(text); body.ok()) {
    FUZZ_CHECK(FormatAdminResponse(*body) == text);
  }
  const std::string as_body(text);
  absl::StatusOr<std::string> ok_back = ParseAdminResponse(FormatAdminResponse(as_body));
  FUZZ_CHECK(ok_back.ok() && *ok_back == as_body);
  const absl::Status error = absl::InvalidArgumentError(as_body);
  absl::StatusOr<std::string> err_back = ParseAdminResponse(FormatAdminResponse(error));
  FUZZ_CHECK(!err_back.ok());
  FUZZ_CHECK(err_back.status().message() ==
             absl::StrReplaceAll(as_body, {{"\n", " "}, {"\r", " "}}));
  return 0;
}

}  // namespace
}  // namespace dprelay::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::control::FuzzOne(data, size);
}
