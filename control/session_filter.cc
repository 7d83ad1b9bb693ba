#include "control/session_filter.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "proto/key.h"

namespace dprelay::control {

absl::StatusOr<SessionFilter> SessionFilter::FromCall(const AdminCall& call) {
  SessionFilter f;
  if (std::optional<std::string> key = call.Get("key")) {
    absl::string_view hex = *key;
    absl::ConsumePrefix(&hex, "discokey:");
    f.key_prefix = absl::AsciiStrToLower(hex);
  }
  if (std::optional<std::string> client = call.Get("client")) {
    if (absl::StatusOr<IpAddr> ip = ParseIp(*client); ip.ok()) {
      f.client_ip = *ip;
    } else if (absl::StatusOr<AddrPort> ap = ParseAddrPort(*client); ap.ok()) {
      f.client_ip = ap->ip;
      f.client_port = ap->port;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("sessions: --client: \"", *client, "\" is not IP or IP:PORT"));
    }
  }
  if (std::optional<std::string> vni = call.Get("vni")) {
    if (!absl::SimpleAtoi(*vni, &f.vni) || f.vni == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("sessions: --vni: \"", *vni, "\" is not a VNI (1..16777215)"));
    }
  }
  return f;
}

bool SessionFilter::Matches(const ipc::SessionRecord& s) const {
  if (vni != 0 && s.vni != vni) {
    return false;
  }
  if (!key_prefix.empty() &&
      !std::any_of(s.client_keys.begin(), s.client_keys.end(), [this](const DiscoKey& k) {
        return absl::StartsWith(FormatDiscoKey(k), absl::StrCat("discokey:", key_prefix));
      })) {
    return false;
  }
  if (client_ip.valid() &&
      !std::any_of(s.bound.begin(), s.bound.end(), [this](const AddrPort& leg) {
        return leg.valid() && leg.ip == client_ip && (client_port == 0 || leg.port == client_port);
      })) {
    return false;
  }
  return true;
}

std::vector<ipc::SessionRecord> SessionFilter::Apply(
    std::vector<ipc::SessionRecord> sessions) const {
  std::erase_if(sessions, [this](const ipc::SessionRecord& s) { return !Matches(s); });
  return sessions;
}

}  // namespace dprelay::control
