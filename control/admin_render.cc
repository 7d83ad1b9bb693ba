#include "control/admin_render.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

std::string JsonAddrs(const std::vector<AddrPort>& addrs) {
  return absl::StrCat("[",
                      absl::StrJoin(addrs, ",",
                                    [](std::string* out, const AddrPort& ap) {
                                      out->append(JsonString(FormatAddrPort(ap)));
                                    }),
                      "]");
}

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
std::string JsonLeg(const ipc::SessionRecord& r, int leg) {
  return absl::StrCat(
      "{\"endpoint\":", r.bound[leg].valid() ? JsonString(FormatAddrPort(r.bound[leg])) : "null",
      ",\"disco_key\":", JsonString(FormatDiscoKey(r.client_keys[leg])),
      ",\"short_disco\":", JsonString(ShortDisco(r.client_keys[leg])),
      ",\"packets\":", r.packets[leg], ",\"bytes\":", r.bytes[leg], ",\"handshake_rtt_ms\":",
      r.handshake_rtt_ns[leg] == 0 ? std::string("null")
                                   : absl::StrFormat("%.3f", r.handshake_rtt_ns[leg] / 1e6),
      ",\"idle_s\":", absl::StrFormat("%.3f", r.idle_ns[leg] / 1e9), "}");
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string RenderStatus(const StatusInfo& s, bool json) {
  if (json) {
    return absl::StrCat(
        "{\"control_key\":", JsonString(s.control_key),
        ",\"server_key\":", JsonString(s.server_key),
        ",\"allocation_socket\":", JsonString(FormatAddrPort(s.listen)),
        ",\"dataplane\":{\"state\":", JsonString(s.dataplane_state),
        ",\"relay_addrs\":", JsonAddrs(s.dataplane_addrs), ",\"capacity\":", s.capacity,
        "},\"advertised\":", JsonAddrs(s.advertised),
        ",\"static_endpoints\":", JsonAddrs(s.static_endpoints),
        ",\"static_endpoints_source\":", JsonString(s.static_source),
        ",\"static_only\":", s.static_only ? "true" : "false",
        ",\"policy\":{\"path\":", JsonString(s.policy_path), ",\"keys\":", s.policy_keys,
        ",\"source_rules\":", s.policy_source_rules, ",\"capacity\":", s.policy_capacity,
        "},\"sessions\":{\"total\":", s.sessions, ",\"connecting\":", s.sessions - s.sessions_open,
        ",\"open\":", s.sessions_open, "},\"requests\":", s.requests,
        ",\"allocated\":", s.allocated, ",\"reallocated\":", s.reallocated,
        ",\"refused\":", s.refused, ",\"last_lamport_id\":", s.last_lamport_id, "}\n");
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
  std::string out;
  if (json) {
    out = "{\"sessions\":[";
    for (size_t i = 0; i < sessions.size(); ++i) {
      const ipc::SessionRecord& r = sessions[i];
      absl::StrAppend(
          &out, i == 0 ? "" : ",", "{\"vni\":", r.vni, ",\"lamport_id\":", r.lamport_id,
          ",\"allocated_at\":", JsonString(Rfc3339(absl::FromUnixNanos(r.allocated_at_unix_ns))),
          ",\"state\":", JsonString(SessionState(r)), ",\"legs\":[", JsonLeg(r, 0), ",",
          JsonLeg(r, 1), "]}");
    }
    out += "]}\n";
    return out;
  }
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
    return absl::StrCat("{\"vni\":", r.vni, ",\"state\":", JsonString(SessionState(r)),
                        ",\"legs\":[", JsonLeg(r, 0), ",", JsonLeg(r, 1), "]}\n");
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
    absl::StrAppend(&out, "{\"total\":", total, ",\"by_reason\":{");
    bool first = true;
    for (size_t i = 0; i < kRefusalCount; ++i) {
      absl::StrAppend(&out, first ? "" : ",", JsonString(kRefusalLabels[i]), ":", counts[i]);
      first = false;
    }
    out += "},\"recent\":[";
    for (size_t i = 0; i < recent.size(); ++i) {
      const RefusalRecord& r = recent[i];
      absl::StrAppend(
          &out, i == 0 ? "" : ",", "{\"time\":", JsonString(Rfc3339(r.at)),
          ",\"reason\":", JsonString(RefusalName(r.reason)),
          ",\"sender\":", r.sender.has_value() ? JsonString(FormatDiscoKey(*r.sender)) : "null",
          ",\"source\":", JsonString(r.source.valid() ? FormatAddrPort(r.source) : ""), "}");
    }
    out += "]}\n";
    return out;
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
    return absl::StrCat("{\"static_endpoints\":", JsonAddrs(endpoints),
                        ",\"source\":", JsonString(source), "}\n");
  }
  return absl::StrCat("static endpoints: ", TextAddrs(endpoints), " (from ", source, ")\n");
}

}  // namespace dprelay::control
