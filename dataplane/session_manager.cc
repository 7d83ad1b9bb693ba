#include "dataplane/session_manager.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace dprelay {

SessionManager::SessionManager(SessionTable* table, Neighbours* neighbours,
                               const LocalIdentity& local)
    : table_(table), neighbours_(neighbours), local_(local) {}

absl::Status SessionManager::Install(const ipc::InstallSession& m, uint64_t now_ns) {
  if (m.vni == 0 || m.vni > table_->capacity()) {
    return absl::OutOfRangeError(
        absl::StrFormat("VNI %u outside the session table (1..%u)", m.vni, table_->capacity()));
  }
  for (const AddrPort& b : m.bound) {
    if (b.valid() && !b.ip.is_v4() && !(b.ip.is_v6() && local_.ipv6)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("VNI %u: bound leg %s is IPv6 and the dataplane has no IPv6 address",
                          m.vni, FormatAddrPort(b)));
    }
  }
  // A re-install (control reconnecting) carries the same keys. Different keys for a live VNI
  // mean control lost track of it (e.g. restarted without the session list): the established
  // session wins and the install is refused, so no one can take over a live VNI.
  if (auto live = sessions_.find(m.vni);
      live != sessions_.end() && live->second.hs.keys != m.client_keys) {
    return absl::AlreadyExistsError(
        absl::StrFormat("VNI %u is live with other client keys (%s, %s)", m.vni,
                        ShortDisco(live->second.hs.keys[0]), ShortDisco(live->second.hs.keys[1])));
  }
  auto [it, inserted] = sessions_.try_emplace(m.vni);
  Session& s = it->second;
  if (inserted) {
    table_->ResetLegStats(m.vni);
  }
  s.hs.keys = m.client_keys;
  s.hs.shared = m.shared;
  s.hs.server_key = m.server_key;
  s.hs.vni = m.vni;
  s.installed_ns = now_ns;
  s.lamport_id = m.lamport_id;
  s.allocated_at_unix_ns = m.allocated_at_unix_ns;
  s.bind_lifetime_ns = m.bind_lifetime_ns;
  s.steady_state_lifetime_ns = m.steady_state_lifetime_ns;
  LegFwd legs[2];
  LegFwd6 v6[2];
  for (int i = 0; i < 2; ++i) {
    SetBound(s, i, m.bound[i]);
    if (m.bound[i].valid()) {
      legs[i] = MakeLeg(m.bound[i], &v6[i]);
      s.answer_ns[i] = now_ns;  // a re-installed leg gets a full steady-state lifetime
    }
    s.rtt_ns[i] = 0;  // measured by a handshake with this dataplane only
  }
  table_->Publish(m.vni, true, legs[0], legs[1], &v6[0], &v6[1]);
  return absl::OkStatus();
}

void SessionManager::Remove(uint32_t vni) {
  auto it = sessions_.find(vni);
  if (it == sessions_.end()) {
    return;
  }
  SetBound(it->second, 0, AddrPort{});
  SetBound(it->second, 1, AddrPort{});
  sessions_.erase(it);
  table_->Clear(vni);
}

void SessionManager::SetBound(Session& s, int leg, const AddrPort& addr) {
  // The next hop depends only on the address and the immutable subnet/gateway configuration,
  // so the count can be kept from bind to unbind without looking at anything else.
  if (s.bound[leg].valid()) {
    if (std::optional<IpAddr> hop = neighbours_->NextHop(s.bound[leg].ip)) {
      auto it = next_hop_refs_.find(*hop);
      if (--it->second == 0) {
        next_hop_refs_.erase(it);
      }
    }
  }
  s.bound[leg] = addr;
  if (addr.valid()) {
    if (std::optional<IpAddr> hop = neighbours_->NextHop(addr.ip)) {
      ++next_hop_refs_[*hop];
    }
  }
}

LegFwd SessionManager::MakeLeg(const AddrPort& addr, LegFwd6* v6) const {
  LegEndpoints e;
  e.local_port_be = local_.port_be;
  e.peer_port_be = htons(addr.port);
  e.local_mac = local_.mac;
  if (addr.ip.is_v6()) {
    e.v6 = true;
    e.local_ip6 = local_.ip6;
    e.peer_ip6 = addr.ip.bytes;
  } else {
    e.local_ip_be = local_.ip_be;
    e.peer_ip_be = addr.ip.v4_be();
  }
  std::optional<IpAddr> hop = neighbours_->NextHop(addr.ip);
  if (!hop) {
    return BuildLegFwd(e, NextHopState::kNoRoute, nullptr, v6);
  }
  std::optional<MacAddr> mac = neighbours_->Lookup(*hop);
  return BuildLegFwd(e, mac ? NextHopState::kResolved : NextHopState::kUnresolved,
                     mac ? &*mac : nullptr, v6);
}

void SessionManager::PublishLeg(uint32_t vni, int leg, const AddrPort& addr) {
  LegFwd6 v6;
  const LegFwd fwd = MakeLeg(addr, &v6);
  table_->PublishLeg(vni, leg, fwd, &v6);
}

HandshakeResult SessionManager::HandleControl(uint32_t vni, std::span<const uint8_t> disco,
                                              const AddrPort& src, uint64_t now_ns) {
  auto it = sessions_.find(vni);
  if (it == sessions_.end()) {
    HandshakeResult r;
    r.drop = DropReason::kUnknownVni;
    return r;
  }
  Session& s = it->second;
  HandshakeResult r = HandleHandshake(s.hs, macs_, disco, src, now_ns);
  if (r.kind == HandshakeResult::Kind::kBound) {
    SetBound(s, r.leg, src);
    s.answer_ns[r.leg] = now_ns;
    s.rtt_ns[r.leg] = r.rtt_ns;
    PublishLeg(vni, r.leg, src);
  }
  return r;
}

void SessionManager::OnNeighbourChanged(const IpAddr& ip) {
  for (const auto& [vni, s] : sessions_) {
    for (int i = 0; i < 2; ++i) {
      if (s.bound[i].valid() && neighbours_->NextHop(s.bound[i].ip) == ip) {
        PublishLeg(vni, i, s.bound[i]);
      }
    }
  }
}

std::vector<IpAddr> SessionManager::NextHopsInUse() const {
  std::vector<IpAddr> hops;
  hops.reserve(next_hop_refs_.size());
  for (const auto& [hop, legs] : next_hop_refs_) {
    hops.push_back(hop);
  }
  return hops;
}

std::vector<uint32_t> SessionManager::Expire(uint64_t now_ns, uint64_t now_tsc, uint64_t tsc_hz) {
  std::vector<uint32_t> expired;
  for (const auto& [vni, s] : sessions_) {
    const bool both_bound = s.bound[0].valid() && s.bound[1].valid();
    if (!both_bound) {
      if (now_ns - s.installed_ns > static_cast<uint64_t>(s.bind_lifetime_ns)) {
        expired.push_back(vni);
      }
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      const uint64_t seen_ns = LastSeenNs(vni, s, i, now_ns, now_tsc, tsc_hz);
      if (now_ns - seen_ns > static_cast<uint64_t>(s.steady_state_lifetime_ns)) {
        expired.push_back(vni);
        break;
      }
    }
  }
  for (uint32_t vni : expired) {
    Remove(vni);
  }
  return expired;
}

uint64_t SessionManager::LastSeenNs(uint32_t vni, const Session& s, int leg, uint64_t now_ns,
                                    uint64_t now_tsc, uint64_t tsc_hz) const {
  if (!s.bound[leg].valid()) {
    return s.installed_ns;
  }
  uint64_t packets, bytes, seen_tsc;
  table_->ReadLegStats(vni, leg, &packets, &bytes, &seen_tsc);
  uint64_t seen_ns = s.answer_ns[leg];
  if (seen_tsc != 0 && now_tsc > seen_tsc) {
    uint64_t ago_ns = (now_tsc - seen_tsc) * 1'000'000'000 / tsc_hz;
    if (now_ns - ago_ns > seen_ns) {
      seen_ns = now_ns - ago_ns;
    }
  } else if (seen_tsc != 0) {
    seen_ns = now_ns;
  }
  return seen_ns;
}

std::vector<SessionView> SessionManager::List() const {
  std::vector<SessionView> out;
  for (const auto& [vni, s] : sessions_) {
    SessionView v;
    v.vni = vni;
    v.keys = s.hs.keys;
    v.bound = s.bound;
    for (int i = 0; i < 2; ++i) {
      uint64_t seen;
      table_->ReadLegStats(vni, i, &v.packets[i], &v.bytes[i], &seen);
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end(),
            [](const SessionView& a, const SessionView& b) { return a.vni < b.vni; });
  return out;
}

std::vector<ipc::SessionRecord> SessionManager::DumpPage(uint32_t from_vni, size_t max_sessions,
                                                         uint32_t max_scan, uint32_t* next_vni,
                                                         uint64_t now_ns, uint64_t now_tsc,
                                                         uint64_t tsc_hz) const {
  std::vector<ipc::SessionRecord> out;
  const uint32_t capacity = table_->capacity();
  uint64_t vni = from_vni == 0 ? 1 : from_vni;
  const uint64_t scan_end = std::min<uint64_t>(uint64_t{capacity} + 1, vni + max_scan);
  for (; vni < scan_end && out.size() < max_sessions; ++vni) {
    auto it = sessions_.find(static_cast<uint32_t>(vni));
    if (it == sessions_.end()) {
      continue;
    }
    const Session& s = it->second;
    ipc::SessionRecord r{
        .vni = static_cast<uint32_t>(vni),
        .client_keys = s.hs.keys,
        .bound = s.bound,
        .lamport_id = s.lamport_id,
        .allocated_at_unix_ns = s.allocated_at_unix_ns,
    };
    for (int i = 0; i < 2; ++i) {
      uint64_t seen;
      table_->ReadLegStats(r.vni, i, &r.packets[i], &r.bytes[i], &seen);
      r.handshake_rtt_ns[i] = s.rtt_ns[i];
      const uint64_t seen_ns = LastSeenNs(r.vni, s, i, now_ns, now_tsc, tsc_hz);
      r.idle_ns[i] = now_ns > seen_ns ? now_ns - seen_ns : 0;
    }
    out.push_back(r);
  }
  *next_vni = vni > capacity ? 0 : static_cast<uint32_t>(vni);
  return out;
}

}  // namespace dprelay
