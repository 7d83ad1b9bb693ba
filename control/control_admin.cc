// dprelay-control's answers to the admin commands (control/admin_commands.h): the
// AdminHandlers members of ControlServer.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/control_server.h"
#include "control/counters_render.h"
#include "control/session_filter.h"
#include "control/static_endpoints.h"
#include "proto/key.h"
#include "proto/log.h"

namespace dprelay::control {

StatusInfo ControlServer::Status() const {
  StatusInfo s;
  s.control_key = FormatDiscoKey(keys_->control_key().pub);
  s.server_key = FormatDiscoKey(keys_->server_disco_key().pub);
  s.listen = local_addr();
  switch (link_.state()) {
    case DataplaneLink::State::kDisconnected:
      s.dataplane_state = "disconnected";
      break;
    case DataplaneLink::State::kConnecting:
    case DataplaneLink::State::kConnected:
      s.dataplane_state = "connecting";
      break;
    case DataplaneLink::State::kSyncing:
      s.dataplane_state = "syncing";
      break;
    case DataplaneLink::State::kReady:
      s.dataplane_state = "ready";
      break;
  }
  s.dataplane_addrs = link_.relay_addrs();
  s.capacity = registry_.capacity();
  s.advertised = Advertised();
  s.static_endpoints = StaticEndpoints(&s.static_source);
  s.static_only = config_.static_only;
  s.policy_path = config_.policy_path;
  s.policy_keys = policy_.size();
  s.policy_source_rules = policy_.source_rules();
  s.policy_capacity = policy_.capacity();
  s.sessions = registry_.size();
  registry_.ForEachFrom(0, [&s](const Endpoint& ep) {
    if (ep.bound[0].valid() && ep.bound[1].valid()) {
      ++s.sessions_open;
    }
    return true;
  });
  s.requests = counters_.requests;
  s.allocated = counters_.allocated;
  s.reallocated = counters_.reallocated;
  s.refused = TotalRefusals();
  s.last_lamport_id = registry_.last_lamport_id();
  return s;
}

absl::StatusOr<std::string> ControlServer::SetStaticEndpoints(const std::string& argument,
                                                              bool json) {
  std::optional<std::vector<AddrPort>> next;
  if (argument == "default") {
    next = std::nullopt;
  } else if (argument == "none") {
    next = std::vector<AddrPort>{};
  } else if (argument.empty()) {
    return absl::InvalidArgumentError(
        "set static-endpoints needs ip:port[,ip:port...], \"none\" or \"default\"");
  } else {
    absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(argument);
    if (!eps.ok()) {
      return eps.status();
    }
    next = *eps;
  }
  if (absl::Status s = StoreRuntimeStaticEndpoints(config_.state_dir, next); !s.ok()) {
    return s;
  }
  runtime_static_ = std::move(next);
  std::string source;
  const std::vector<AddrPort>& now_in_force = StaticEndpoints(&source);
  DPRELAY_LOG_INFO("static endpoints set to [%s] (from %s)", FormatEndpointList(now_in_force),
                   source);
  return RenderStaticEndpoints(now_in_force, source, json);
}

void ControlServer::AdminStatus(const AdminCall& call, AdminReply reply) {
  reply(RenderStatus(Status(), call.json));
}

void ControlServer::AdminSessions(const AdminCall& call, AdminReply reply) {
  absl::StatusOr<SessionFilter> filter = SessionFilter::FromCall(call);
  if (!filter.ok()) {
    reply(filter.status());
    return;
  }
  const std::string format = call.Get("format").value_or(call.json ? "json" : "text");
  std::optional<uint16_t> udp_port;
  if (!link_.relay_addrs().empty()) {
    udp_port = link_.relay_addrs().front().port;
  }
  link_.DumpSessions(
      [reply, format, udp_port,
       filter = *filter](absl::StatusOr<std::vector<ipc::SessionRecord>> sessions) {
        if (!sessions.ok()) {
          reply(sessions.status());
          return;
        }
        std::vector<ipc::SessionRecord> shown = filter.Apply(std::move(*sessions));
        reply(format == "tailscale" ? RenderSessionsTailscale(shown, udp_port)
                                    : RenderSessions(shown, format == "json"));
      },
      absl::Now(), filter->vni);
}

void ControlServer::AdminPing(const AdminCall& call, AdminReply reply) {
  uint32_t vni = 0;
  if (!absl::SimpleAtoi(call.operand, &vni)) {  // checked by ParseAdminArgs
    reply(absl::InvalidArgumentError(absl::StrCat("ping: \"", call.operand, "\" is not a VNI")));
    return;
  }
  link_.DumpSessions(
      [reply, json = call.json, vni](absl::StatusOr<std::vector<ipc::SessionRecord>> sessions) {
        if (!sessions.ok()) {
          reply(sessions.status());
        } else if (sessions->empty()) {
          reply(absl::NotFoundError(absl::StrCat("VNI ", vni, " is not a live session")));
        } else {
          reply(RenderPing(sessions->front(), json));
        }
      },
      absl::Now(), vni);
}

void ControlServer::AdminRefusals(const AdminCall& call, AdminReply reply) {
  reply(RenderRefusals(counters_.refusals, refusal_log_.Recent(), call.json));
}

std::vector<Endpoint> ControlServer::Evict(const std::vector<uint32_t>& vnis, const char* why) {
  std::vector<Endpoint> ended;
  const absl::Time now = absl::Now();
  for (uint32_t vni : vnis) {
    const Endpoint* ep = registry_.FindByVni(vni);
    if (ep == nullptr) {
      continue;
    }
    Endpoint copy = *ep;
    if (link_.Evict(vni, now)) {
      DPRELAY_LOG_INFO("evicted vni=%d keys=%s,%s (%s)", vni, ShortDisco(copy.client_keys[0]),
                       ShortDisco(copy.client_keys[1]), why);
      ended.push_back(std::move(copy));
    }
  }
  return ended;
}

void ControlServer::AdminReload(const AdminCall& call, AdminReply reply) {
  absl::Status s = ReloadPolicy();
  if (!s.ok()) {
    reply(absl::FailedPreconditionError(
        absl::StrCat("reload failed, previous policy kept: ", s.message())));
    return;
  }
  // Live sessions are not revoked by a reload; they are listed, and ended on request.
  std::vector<Endpoint> disallowed;
  registry_.ForEachFrom(0, [&](const Endpoint& ep) {
    if (!policy_.AllowsPair(ep.client_keys[0], ep.client_keys[1])) {
      disallowed.push_back(ep);
    }
    return true;
  });
  const bool evict = call.Has("evict-removed");
  if (evict) {
    std::vector<uint32_t> vnis;
    for (const Endpoint& ep : disallowed) {
      vnis.push_back(ep.vni);
    }
    disallowed = Evict(vnis, "reload --evict-removed");
  } else if (!disallowed.empty()) {
    DPRELAY_LOG_INFO("%d live sessions belong to keys the new policy no longer allows",
                     disallowed.size());
  }
  reply(RenderReload(config_.policy_path, policy_.size(), policy_.source_rules(), disallowed, evict,
                     call.json));
}

void ControlServer::AdminEvict(const AdminCall& call, AdminReply reply) {
  std::vector<uint32_t> vnis;
  uint32_t vni = 0;
  if (absl::SimpleAtoi(call.operand, &vni)) {
    if (registry_.FindByVni(vni) == nullptr) {
      reply(absl::NotFoundError(absl::StrCat("VNI ", vni, " is not a live session")));
      return;
    }
    vnis.push_back(vni);
  } else {
    absl::StatusOr<DiscoKey> key = ParseDiscoKey(call.operand);
    if (!key.ok()) {
      key = ParseDiscoKey(absl::StrCat("discokey:", call.operand));
    }
    if (!key.ok()) {  // checked by ParseAdminArgs
      reply(key.status());
      return;
    }
    registry_.ForEachFrom(0, [&](const Endpoint& ep) {
      if (ep.client_keys[0] == *key || ep.client_keys[1] == *key) {
        vnis.push_back(ep.vni);
      }
      return true;
    });
    if (vnis.empty()) {
      reply(absl::NotFoundError(absl::StrCat("no live session has key ", FormatDiscoKey(*key))));
      return;
    }
  }
  reply(RenderEvicted(Evict(vnis, "dprelayctl evict"), call.json));
}

void ControlServer::AdminVersion(const AdminCall& call, AdminReply reply) {
  reply(RenderVersion("dprelay-control", call.json));
}

void ControlServer::AdminCounters(const AdminCall& call, AdminReply reply) {
  if (!link_.ready() || !last_stats_.has_value() ||
      absl::Now() - last_stats_at_ > HealthMonitor::kMaxStatsAge) {
    reply(absl::UnavailableError("no dataplane counters: the dataplane is not connected"));
    return;
  }
  reply(RenderCounters(*last_stats_, last_stats_at_, call.json, call.Has("all")));
}

void ControlServer::AdminSetStaticEndpoints(const AdminCall& call, AdminReply reply) {
  reply(SetStaticEndpoints(call.operand, call.json));
}

}  // namespace dprelay::control
