#include "control/static_endpoints.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/key_store.h"
#include "control/policy.h"

namespace dprelay::control {

std::string FormatEndpointList(const std::vector<AddrPort>& endpoints) {
  return absl::StrJoin(endpoints, ",", [](std::string* out, const AddrPort& ap) {
    out->append(FormatAddrPort(ap));
  });
}

absl::StatusOr<std::optional<std::vector<AddrPort>>> LoadRuntimeStaticEndpoints(
    const std::string& state_dir) {
  const std::string path = absl::StrCat(state_dir, "/", kStaticEndpointsFile);
  errno = 0;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      return std::optional<std::vector<AddrPort>>();
    }
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text(absl::StripAsciiWhitespace(buf.str()));
  if (text.empty()) {
    return std::optional<std::vector<AddrPort>>(std::vector<AddrPort>{});
  }
  absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(text);
  if (!eps.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", eps.status().message()));
  }
  return std::optional<std::vector<AddrPort>>(*eps);
}

absl::Status StoreRuntimeStaticEndpoints(const std::string& state_dir,
                                         const std::optional<std::vector<AddrPort>>& endpoints) {
  const std::string path = absl::StrCat(state_dir, "/", kStaticEndpointsFile);
  if (!endpoints.has_value()) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": cannot remove: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  return WriteFileAtomically(path, FormatEndpointList(*endpoints) + "\n", 0600);
}

}  // namespace dprelay::control
