#include "control/config_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/key_store.h"
#include "control/policy.h"
#include "control/static_endpoints.h"
#include "proto/trusted_dir.h"

namespace dprelay::control {
namespace {

std::string Line(absl::string_view what, absl::string_view value) {
  return absl::StrFormat("  %-18s %s\n", what, value);
}

std::string OrOff(const std::optional<AddrPort>& addr) {
  return addr ? FormatAddrPort(*addr) : "off";
}

// CheckTrustedDirectory as the service would see `dir` (lstat `st`): root checking the
// service user's directory (dprelay's, under the package) accepts its owner, not the rest.
absl::Status CheckAsService(const std::string& dir, const struct stat& st) {
  absl::Status trusted = CheckTrustedDirectory(dir);
  if (!trusted.ok() && geteuid() == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 022) == 0) {
    return absl::OkStatus();
  }
  return trusted;
}

// The state directory as the running service would find it.
std::string DescribeStateDir(const std::string& dir, std::vector<std::string>* errors) {
  struct stat st{};
  if (lstat(dir.c_str(), &st) != 0) {
    return absl::StrCat(dir, ": missing; created 0700 with new keys at first start");
  }
  if (absl::Status trusted = CheckAsService(dir, st); !trusted.ok()) {
    errors->push_back(std::string(trusted.message()));
    return dir;
  }
  const bool keys = access((dir + "/" + kControlKeyFile).c_str(), F_OK) == 0 &&
                    access((dir + "/" + kServerDiscoKeyFile).c_str(), F_OK) == 0;
  return absl::StrFormat("%s: uid %u, mode %04o, %s", dir, st.st_uid, st.st_mode & 07777,
                         keys ? "keys present" : "keys generated at first start");
}

// A socket's directory as the service will find it: checked if it exists (a missing one is
// created at start, or by the unit's RuntimeDirectory).
void CheckSocketDir(const std::string& socket, std::vector<std::string>* errors) {
  const std::string dir = socket.substr(0, socket.rfind('/'));
  struct stat st{};
  if (dir.empty() || lstat(dir.c_str(), &st) != 0) {
    return;
  }
  if (absl::Status trusted = CheckAsService(dir, st); !trusted.ok()) {
    errors->push_back(absl::StrCat(socket, ": ", trusted.message()));
  }
}

}  // namespace

ControlCheck CheckControlConfig(const ControlConfig& config) {
  ControlCheck check;
  std::string& s = check.summary;
  s = "dprelay-control would run with:\n";
  s += Line("allocation socket", FormatAddrPort(config.listen));
  absl::StatusOr<Policy> policy = Policy::LoadFile(config.policy_path);
  if (!policy.ok()) {
    check.errors.push_back(std::string(policy.status().message()));
  } else {
    s += Line("policy", absl::StrFormat("%s: %u keys, %u source rules, capacity %s",
                                        config.policy_path, policy->size(),
                                        policy->source_rules(),
                                        policy->capacity() == 0
                                            ? std::string("unlimited")
                                            : absl::StrCat(policy->capacity())));
    if (policy->size() == 0) {
      s += Line("", "warning: no keys, every allocation will be refused");
    }
  }
  s += Line("state dir", DescribeStateDir(config.state_dir, &check.errors));
  absl::StatusOr<std::optional<std::vector<AddrPort>>> runtime =
      LoadRuntimeStaticEndpoints(config.state_dir);
  std::string endpoints;
  if (!runtime.ok()) {
    check.errors.push_back(std::string(runtime.status().message()));
  } else if (runtime->has_value()) {
    endpoints = absl::StrCat(FormatEndpointList(**runtime), " (set by dprelayctl, ",
                             config.state_dir, "/", kStaticEndpointsFile, ")");
  } else if (!config.static_endpoints.empty()) {
    endpoints = absl::StrCat(FormatEndpointList(config.static_endpoints), " (--static_endpoints)");
  } else if (policy.ok() && !policy->static_endpoints().empty()) {
    endpoints = absl::StrCat(FormatEndpointList(policy->static_endpoints()), " (policy)");
  }
  s += Line("static endpoints",
            endpoints.empty() ? "none" : endpoints + (config.static_only ? ", only these" : ""));
  CheckSocketDir(config.dataplane_socket, &check.errors);
  if (!config.admin_socket.empty()) {
    CheckSocketDir(config.admin_socket, &check.errors);
  }
  s += Line("dataplane socket", config.dataplane_socket);
  s += Line("admin socket", config.admin_socket.empty() ? "off" : config.admin_socket);
  s += Line("metrics", OrOff(config.metrics_listen));
  s += Line("health", OrOff(config.health_listen));
  s += Line("lifetimes", absl::StrCat("bind ", absl::FormatDuration(config.bind_lifetime),
                                      ", steady state ",
                                      absl::FormatDuration(config.steady_state_lifetime)));
  return check;
}

}  // namespace dprelay::control
