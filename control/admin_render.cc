#include "control/admin_render.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "proto/key.h"
#include "proto/version.h"

namespace dprelay::control {
namespace {

// Objects keep the order fields are set in, as the output always had.
using Json = nlohmann::ordered_json;

Json JsonAddrs(const std::vector<AddrPort>& addrs) {
  Json out = Json::array();
  for (const AddrPort& ap : addrs) {
    out.push_back(FormatAddrPort(ap));
  }
  return out;
}

// A JSON document as one line.
std::string Dump(const Json& j) { return j.dump() + "\n"; }

// Milliseconds or seconds with three decimals, as numbers.
double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string TextAddrs(const std::vector<AddrPort>& addrs) {
  if (addrs.empty()) {
    return "(none)";
  }
  return absl::StrJoin(
      addrs, ", ", [](std::string* out, const AddrPort& ap) { out->append(FormatAddrPort(ap)); });
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

const char* SessionState(const ipc::SessionRecord& r) {
  return r.bound[0].valid() && r.bound[1].valid() ? "open" : "connecting";
}

// Per-leg JSON fields shared by `sessions` and `ping`.
Json JsonLeg(const ipc::SessionRecord& r, int leg) {
  Json j;
  j["endpoint"] = r.bound[leg].valid() ? Json(FormatAddrPort(r.bound[leg])) : Json(nullptr);
  j["disco_key"] = FormatDiscoKey(r.client_keys[leg]);
  j["short_disco"] = ShortDisco(r.client_keys[leg]);
  j["packets"] = r.packets[leg];
  j["bytes"] = r.bytes[leg];
  j["handshake_rtt_ms"] =
      r.handshake_rtt_ns[leg] == 0 ? Json(nullptr) : Json(Round3(r.handshake_rtt_ns[leg] / 1e6));
  j["idle_s"] = Round3(r.idle_ns[leg] / 1e9);
  return j;
}

}  // namespace

std::string RenderStatus(const StatusInfo& s, bool json) {
  if (json) {
    Json j;
    j["control_key"] = s.control_key;
    j["server_key"] = s.server_key;
    j["allocation_socket"] = FormatAddrPort(s.listen);
    j["dataplane"] = {{"state", s.dataplane_state},
                      {"relay_addrs", JsonAddrs(s.dataplane_addrs)},
                      {"capacity", s.capacity}};
    j["advertised"] = JsonAddrs(s.advertised);
    j["static_endpoints"] = JsonAddrs(s.static_endpoints);
    j["static_endpoints_source"] = s.static_source;
    j["static_only"] = s.static_only;
    j["policy"] = {{"path", s.policy_path},
                   {"keys", s.policy_keys},
                   {"source_rules", s.policy_source_rules},
                   {"capacity", s.policy_capacity}};
    j["sessions"] = {{"total", s.sessions},
                     {"connecting", s.sessions - s.sessions_open},
                     {"open", s.sessions_open}};
    j["requests"] = s.requests;
    j["allocated"] = s.allocated;
    j["reallocated"] = s.reallocated;
    j["refused"] = s.refused;
    j["last_lamport_id"] = s.last_lamport_id;
    return Dump(j);
  }
  return absl::StrCat(
      "control key:        ", s.control_key, "\n",             //
      "server disco key:   ", s.server_key, "\n",              //
      "allocation socket:  ", FormatAddrPort(s.listen), "\n",  //
      "dataplane:          ", s.dataplane_state, ", relay ", TextAddrs(s.dataplane_addrs),
      ", capacity ", s.capacity, "\n",                        //
      "advertised:         ", TextAddrs(s.advertised), "\n",  //
      "static endpoints:   ", TextAddrs(s.static_endpoints), " (from ", s.static_source,
      s.static_only ? "; static only" : "", ")\n",  //
      "policy:             ", s.policy_path, ": ", s.policy_keys, " keys, ", s.policy_source_rules,
      " source rules, capacity ",
      s.policy_capacity == 0 ? std::string("unlimited") : absl::StrCat(s.policy_capacity), "\n",
      "sessions:           ", s.sessions, " (", s.sessions - s.sessions_open, " connecting, ",
      s.sessions_open, " open)\n",  //
      "requests:           ", s.requests, " (", s.allocated, " allocated, ", s.reallocated,
      " again, ", s.refused, " refused)\n",  //
      "last lamport id:    ", s.last_lamport_id, "\n");
}

std::string RenderSessions(const std::vector<ipc::SessionRecord>& sessions, bool json) {
  if (json) {
    Json list = Json::array();
    for (const ipc::SessionRecord& r : sessions) {
      Json j;
      j["vni"] = r.vni;
      j["lamport_id"] = r.lamport_id;
      j["allocated_at"] = Rfc3339(absl::FromUnixNanos(r.allocated_at_unix_ns));
      j["state"] = SessionState(r);
      j["legs"] = {JsonLeg(r, 0), JsonLeg(r, 1)};
      list.push_back(std::move(j));
    }
    Json doc;
    doc["sessions"] = std::move(list);
    return Dump(doc);
  }
  std::string out;
  out = absl::StrCat("Sessions count: ", sessions.size(), "\n");
  auto ep = [](const ipc::SessionRecord& r, int leg) {
    return absl::StrCat(
        r.bound[leg].valid() ? FormatAddrPort(r.bound[leg]) : std::string("<no handshake>"), "(",
        ShortDisco(r.client_keys[leg]), ")");
  };
  for (const ipc::SessionRecord& r : sessions) {
    absl::StrAppend(&out, "VNI: ", r.vni, "\n");
    for (int leg = 0; leg < 2; ++leg) {
      absl::StrAppend(&out, "  ", ep(r, leg), " --> ", ep(r, 1 - leg),
                      ", Packets: ", r.packets[leg], " Bytes: ", r.bytes[leg], "\n");
    }
  }
  return out;
}

std::string RenderPing(const ipc::SessionRecord& r, bool json) {
  if (json) {
    Json j;
    j["vni"] = r.vni;
    j["state"] = SessionState(r);
    j["legs"] = {JsonLeg(r, 0), JsonLeg(r, 1)};
    return Dump(j);
  }
  std::string out = absl::StrCat("VNI ", r.vni, ": ", SessionState(r), "\n");
  for (int leg = 0; leg < 2; ++leg) {
    absl::StrAppend(&out, "  ", ShortDisco(r.client_keys[leg]), " ");
    if (!r.bound[leg].valid()) {
      absl::StrAppend(&out, "no handshake yet, allocated ",
                      absl::StrFormat("%.1f", r.idle_ns[leg] / 1e9), " s ago\n");
      continue;
    }
    absl::StrAppend(&out, FormatAddrPort(r.bound[leg]), ": handshake RTT ",
                    r.handshake_rtt_ns[leg] == 0
                        ? std::string("not measured (bound before the dataplane restarted)")
                        : absl::StrFormat("%.3f ms", r.handshake_rtt_ns[leg] / 1e6),
                    ", last heard ", absl::StrFormat("%.1f", r.idle_ns[leg] / 1e9), " s ago, ",
                    r.packets[leg], " packets\n");
  }
  return out;
}

std::string RenderRefusals(const std::array<uint64_t, kRefusalCount>& counts,
                           const std::vector<RefusalRecord>& recent, bool json) {
  std::string out;
  uint64_t total = 0;
  for (uint64_t c : counts) {
    total += c;
  }
  if (json) {
    Json j;
    j["total"] = total;
    Json by_reason = Json::object();
    for (size_t i = 0; i < kRefusalCount; ++i) {
      by_reason[std::string(kRefusalLabels[i])] = counts[i];
    }
    j["by_reason"] = std::move(by_reason);
    Json list = Json::array();
    for (const RefusalRecord& r : recent) {
      Json e;
      e["time"] = Rfc3339(r.at);
      e["reason"] = std::string(RefusalName(r.reason));
      e["sender"] = r.sender.has_value() ? Json(FormatDiscoKey(*r.sender)) : Json(nullptr);
      e["source"] = r.source.valid() ? FormatAddrPort(r.source) : "";
      list.push_back(std::move(e));
    }
    j["recent"] = std::move(list);
    return Dump(j);
  }
  absl::StrAppend(&out, "refusals: ", total);
  for (size_t i = 0; i < kRefusalCount; ++i) {
    if (counts[i] != 0) {
      absl::StrAppend(&out, " ", std::string(kRefusalLabels[i]), "=", counts[i]);
    }
  }
  absl::StrAppend(&out, "\n");
  if (!recent.empty()) {
    absl::StrAppend(&out, "most recent last:\n");
  }
  for (const RefusalRecord& r : recent) {
    absl::StrAppend(&out, Rfc3339(r.at), " ", std::string(RefusalName(r.reason)),
                    " sender=", r.sender.has_value() ? ShortDisco(*r.sender) : "-",
                    " src=", r.source.valid() ? FormatAddrPort(r.source) : "-", "\n");
  }
  return out;
}

std::string RenderStaticEndpoints(const std::vector<AddrPort>& endpoints, const std::string& source,
                                  bool json) {
  if (json) {
    Json j;
    j["static_endpoints"] = JsonAddrs(endpoints);
    j["source"] = source;
    return Dump(j);
  }
  return absl::StrCat("static endpoints: ", TextAddrs(endpoints), " (from ", source, ")\n");
}

std::string RenderSessionsTailscale(const std::vector<ipc::SessionRecord>& sessions,
                                    std::optional<uint16_t> udp_port) {
  // Go's encoding/json of status.ServerStatus: field names as declared, a zero
  // netip.AddrPort as "", a nil *int as null.
  Json list = Json::array();
  for (const ipc::SessionRecord& r : sessions) {
    Json session;
    session["VNI"] = r.vni;
    for (int leg = 0; leg < 2; ++leg) {
      Json client;
      client["Endpoint"] = r.bound[leg].valid() ? FormatAddrPort(r.bound[leg]) : "";
      client["ShortDisco"] = ShortDisco(r.client_keys[leg]);
      client["PacketsTx"] = r.packets[leg];
      client["BytesTx"] = r.bytes[leg];
      session[leg == 0 ? "Client1" : "Client2"] = std::move(client);
    }
    list.push_back(std::move(session));
  }
  Json doc;
  doc["UDPPort"] = udp_port.has_value() ? Json(*udp_port) : Json(nullptr);
  doc["Sessions"] = std::move(list);
  return Dump(doc);
}

namespace {

Json JsonEndedSessions(const std::vector<Endpoint>& endpoints) {
  Json list = Json::array();
  for (const Endpoint& ep : endpoints) {
    Json j;
    j["vni"] = ep.vni;
    j["keys"] = {FormatDiscoKey(ep.client_keys[0]), FormatDiscoKey(ep.client_keys[1])};
    list.push_back(std::move(j));
  }
  return list;
}

std::string TextSessions(const std::vector<Endpoint>& endpoints) {
  std::string out;
  for (const Endpoint& ep : endpoints) {
    absl::StrAppend(&out, "  VNI ", ep.vni, " (", ShortDisco(ep.client_keys[0]), ", ",
                    ShortDisco(ep.client_keys[1]), ")\n");
  }
  return out;
}

}  // namespace

std::string RenderEvicted(const std::vector<Endpoint>& evicted, bool json) {
  if (json) {
    Json j;
    j["evicted"] = JsonEndedSessions(evicted);
    return Dump(j);
  }
  return absl::StrCat("evicted ", evicted.size(), evicted.size() == 1 ? " session" : " sessions",
                      "\n", TextSessions(evicted));
}

std::string RenderReload(const std::string& path, size_t keys, size_t source_rules,
                         const std::vector<Endpoint>& disallowed, bool evicted, bool json) {
  if (json) {
    Json j;
    j["reloaded"] = path;
    j["keys"] = keys;
    j[evicted ? "evicted" : "disallowed_sessions"] = JsonEndedSessions(disallowed);
    return Dump(j);
  }
  std::string out = absl::StrCat("reloaded ", path, ": ", keys, " allowed keys, ", source_rules,
                                 " source rules\n");
  if (!disallowed.empty()) {
    absl::StrAppend(&out, disallowed.size(),
                    evicted ? " sessions of keys the policy no longer allows were evicted:\n"
                            : " live sessions belong to keys the policy no longer allows "
                              "(reload --evict-removed ends them):\n",
                    TextSessions(disallowed));
  }
  return out;
}

std::string RenderVersion(const char* program, bool json) {
  if (json) {
    Json j;
    j["program"] = program;
    j["version"] = std::string(kVersion);
    j["dpdk_version"] = std::string(kDpdkVersion);
    return Dump(j);
  }
  return VersionLine(program) + "\n";
}

}  // namespace dprelay::control
