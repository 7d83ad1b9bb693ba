#include "dataplane/session_manager.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"
#include "dataplane/coarse_clock.h"
#include "proto/log.h"

namespace dprelay {

SessionManager::SessionManager(SessionTable* table, Neighbours* neighbours,
                               const LocalIdentity& local)
    : table_(table),
      neighbours_(neighbours),
      local_(local),
      martians_(local, neighbours->config().v4),
      index_(size_t{table->capacity()} + 1, kNoRecord) {}

SessionState* SessionManager::Find(uint32_t vni) {
  if (vni == 0 || vni > table_->capacity() || index_[vni] == kNoRecord) {
    return nullptr;
  }
  return &pool_[index_[vni]];
}

const SessionState* SessionManager::Find(uint32_t vni) const {
  return const_cast<SessionManager*>(this)->Find(vni);
}

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
  if (const SessionState* live = Find(m.vni); live != nullptr && live->hs.keys != m.client_keys) {
    return absl::AlreadyExistsError(
        absl::StrFormat("VNI %u is live with other client keys (%s, %s)", m.vni,
                        ShortDisco(live->hs.keys[0]), ShortDisco(live->hs.keys[1])));
  }
  absl::StatusOr<uint16_t> params =
      params_.Acquire(InstallParams{.server_key = m.server_key,
                                    .bind_lifetime_ns = m.bind_lifetime_ns,
                                    .steady_state_lifetime_ns = m.steady_state_lifetime_ns});
  if (!params.ok()) {
    return absl::Status(params.status().code(),
                        absl::StrFormat("VNI %u: %s", m.vni, params.status().message()));
  }
  if (index_[m.vni] == kNoRecord) {
    index_[m.vni] = pool_.Alloc();
    table_->ResetLegStats(m.vni);
  } else {
    params_.Release(pool_[index_[m.vni]].params);
  }
  SessionState& s = pool_[index_[m.vni]];
  s.hs.keys = m.client_keys;
  s.hs.shared = m.shared;
  s.hs.vni = m.vni;
  s.params = *params;
  s.lamport_id = m.lamport_id;
  s.allocated_at_unix_ns = m.allocated_at_unix_ns;
  const uint32_t now_ms = MsStamp(now_ns);
  LegFwd legs[2];
  LegFwd6 v6[2];
  for (int i = 0; i < 2; ++i) {
    AddrPort bound = m.bound[i];
    if (std::optional<DropReason> martian = bound.valid() ? martians_.Check(bound) : std::nullopt) {
      // No handshake of ours bound it (a Bind from it gets no Challenge): the leg stays
      // unbound and its client binds again.
      DPRELAY_LOG_WARNING("session vni=%u: leg %d at %s left unbound (%s)", m.vni, i,
                          FormatAddrPort(bound), DropReasonLabel(*martian));
      bound = AddrPort{};
    }
    CountNextHop(Bound(m.vni, i), -1);  // what this VNI had bound, if anything
    CountNextHop(bound, +1);
    if (bound.valid()) {
      legs[i] = MakeLeg(bound, &v6[i]);
    }
    // An unbound leg's bind lifetime starts now; a re-installed bound leg gets a full
    // steady-state lifetime.
    s.seen_ms[i] = now_ms;
    uint64_t packets, bytes;
    table_->ReadLegStats(m.vni, i, &packets, &bytes);
    s.seen_packets[i] = static_cast<uint32_t>(packets);
    s.rtt_us[i] = 0;  // measured by a handshake with this dataplane only
  }
  table_->Publish(m.vni, true, legs[0], legs[1], &v6[0], &v6[1]);
  return absl::OkStatus();
}

void SessionManager::Remove(uint32_t vni) {
  SessionState* s = Find(vni);
  if (s == nullptr) {
    return;
  }
  CountNextHop(Bound(vni, 0), -1);
  CountNextHop(Bound(vni, 1), -1);
  params_.Release(s->params);
  s->hs.vni = 0;
  pool_.Free(index_[vni]);
  index_[vni] = kNoRecord;
  table_->Clear(vni);
}

AddrPort SessionManager::Bound(uint32_t vni, int leg) const {
  const LegFwd& f = table_->slot(vni).leg[leg];
  if (f.bound == kLegV4) {
    return AddrPort{IpAddr::V4FromBe(f.addr_be), ntohs(f.port_be)};
  }
  if (f.bound == kLegV6) {
    const LegFwd6& f6 = table_->leg6(vni, leg);
    return AddrPort{IpAddr::V6(f6.addr.data()), ntohs(f6.port_be)};
  }
  return AddrPort{};
}

void SessionManager::CountNextHop(const AddrPort& addr, int delta) {
  // The next hop depends only on the address and the immutable subnet/gateway configuration,
  // so the count can be kept from bind to unbind without looking at anything else.
  if (!addr.valid()) {
    return;
  }
  std::optional<IpAddr> hop = neighbours_->NextHop(addr.ip);
  if (!hop) {
    return;
  }
  if (delta > 0) {
    ++next_hop_refs_[*hop];
    return;
  }
  auto it = next_hop_refs_.find(*hop);
  if (--it->second == 0) {
    next_hop_refs_.erase(it);
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
                                              const AddrPort& src, uint64_t now_ns,
                                              bool under_pressure) {
  SessionState* s = Find(vni);
  if (s == nullptr) {
    return HandshakeResult::Dropped(DropReason::kUnknownVni);
  }
  if (std::optional<DropReason> martian = martians_.Check(src)) {
    return HandshakeResult::Dropped(*martian);
  }
  DropReason why = DropReason::kNotDropped;
  const int leg = SenderLeg(s->hs, disco, &why);
  if (leg < 0) {
    return HandshakeResult::Dropped(why);  // names no client: dropped for free
  }
  // The box open is the first costly step. When the main lcore is behind (a backlog, or more
  // box opens this second than legitimate binds need), it is charged to the leg the sender
  // names, in the budget of its bound address or of everywhere else (open_budget.h).
  const bool busy = !opens_.Take(now_ns);
  if ((under_pressure || busy) && !s->opens[leg][Bound(vni, leg) == src ? 0 : 1].Take(now_ns)) {
    return HandshakeResult::Dropped(DropReason::kHandshakeOpenLimited);
  }
  HandshakeResult r = HandleHandshakeForLeg(s->hs, leg, params_[s->params].server_key, macs_,
                                            disco, src, now_ns);
  if (r.kind == HandshakeResult::Kind::kBound) {
    CountNextHop(Bound(vni, r.leg), -1);
    CountNextHop(src, +1);
    s->seen_ms[r.leg] = MsStamp(now_ns);
    s->rtt_us[r.leg] = static_cast<uint32_t>(
        std::min<uint64_t>(r.rtt_ns / kNsPerUs, std::numeric_limits<uint32_t>::max()));
    PublishLeg(vni, r.leg, src);
  }
  return r;
}

void SessionManager::OnNeighboursChanged(const absl::flat_hash_set<IpAddr>& hops) {
  if (hops.empty()) {
    return;
  }
  for (uint32_t i = 0; i < pool_.high_water(); ++i) {
    const uint32_t vni = pool_[i].hs.vni;
    if (vni == 0) {
      continue;
    }
    for (int leg = 0; leg < 2; ++leg) {
      const AddrPort bound = Bound(vni, leg);
      if (!bound.valid()) {
        continue;
      }
      if (std::optional<IpAddr> hop = neighbours_->NextHop(bound.ip); hop && hops.contains(*hop)) {
        PublishLeg(vni, leg, bound);
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

std::vector<uint32_t> SessionManager::Expire(uint64_t now_ns) {
  const uint32_t now_ms = MsStamp(now_ns);
  std::vector<uint32_t> expired;
  for (uint32_t i = 0; i < pool_.high_water(); ++i) {
    SessionState& s = pool_[i];
    const uint32_t vni = s.hs.vni;
    if (vni == 0) {
      continue;
    }
    const InstallParams& p = params_[s.params];
    const SessionSlot& slot = table_->slot(vni);
    const bool bound[2] = {slot.leg[0].bound != kLegUnbound, slot.leg[1].bound != kLegUnbound};
    if (!bound[0] || !bound[1]) {
      // The unbound leg's seen_ms is the (re)install time.
      const uint32_t installed_ms = bound[0] ? s.seen_ms[1] : s.seen_ms[0];
      if (StampAge(now_ms, installed_ms) > p.bind_lifetime_ns / kNsPerMs) {
        expired.push_back(vni);
      }
      continue;
    }
    bool idle = false;
    for (int leg = 0; leg < 2; ++leg) {
      uint64_t packets, bytes;
      table_->ReadLegStats(vni, leg, &packets, &bytes);
      if (static_cast<uint32_t>(packets) != s.seen_packets[leg]) {
        s.seen_packets[leg] = static_cast<uint32_t>(packets);
        s.seen_ms[leg] = now_ms;
      }
      idle = idle || StampAge(now_ms, s.seen_ms[leg]) > p.steady_state_lifetime_ns / kNsPerMs;
    }
    if (idle) {
      expired.push_back(vni);
    }
  }
  for (uint32_t vni : expired) {
    Remove(vni);
  }
  return expired;
}

uint32_t SessionManager::LastSeenMs(uint32_t vni, const SessionState& s, int leg,
                                    uint32_t now_ms) const {
  if (table_->slot(vni).leg[leg].bound == kLegUnbound) {
    return s.seen_ms[leg];
  }
  uint64_t packets, bytes;
  table_->ReadLegStats(vni, leg, &packets, &bytes);
  return static_cast<uint32_t>(packets) != s.seen_packets[leg] ? now_ms : s.seen_ms[leg];
}

std::vector<SessionView> SessionManager::List() const {
  std::vector<SessionView> out;
  out.reserve(pool_.live());
  for (uint32_t i = 0; i < pool_.high_water(); ++i) {
    const SessionState& s = pool_[i];
    if (s.hs.vni == 0) {
      continue;
    }
    SessionView v;
    v.vni = s.hs.vni;
    v.keys = s.hs.keys;
    for (int leg = 0; leg < 2; ++leg) {
      v.bound[leg] = Bound(v.vni, leg);
      table_->ReadLegStats(v.vni, leg, &v.packets[leg], &v.bytes[leg]);
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end(),
            [](const SessionView& a, const SessionView& b) { return a.vni < b.vni; });
  return out;
}

size_t SessionManager::MemoryBytes() const {
  return pool_.MemoryBytes() + index_.capacity() * sizeof(index_[0]) + params_.MemoryBytes() +
         next_hop_refs_.bucket_count() * (sizeof(*next_hop_refs_.begin()) + 1);
}

std::vector<ipc::SessionRecord> SessionManager::DumpPage(uint32_t from_vni, size_t max_sessions,
                                                         uint32_t max_scan, uint32_t* next_vni,
                                                         uint64_t now_ns) const {
  std::vector<ipc::SessionRecord> out;
  const uint32_t capacity = table_->capacity();
  const uint32_t now_ms = MsStamp(now_ns);
  uint64_t vni = from_vni == 0 ? 1 : from_vni;
  const uint64_t scan_end = std::min<uint64_t>(uint64_t{capacity} + 1, vni + max_scan);
  for (; vni < scan_end && out.size() < max_sessions; ++vni) {
    const SessionState* s = Find(static_cast<uint32_t>(vni));
    if (s == nullptr) {
      continue;
    }
    ipc::SessionRecord r{
        .vni = static_cast<uint32_t>(vni),
        .client_keys = s->hs.keys,
        .lamport_id = s->lamport_id,
        .allocated_at_unix_ns = s->allocated_at_unix_ns,
    };
    for (int i = 0; i < 2; ++i) {
      r.bound[i] = Bound(r.vni, i);
      table_->ReadLegStats(r.vni, i, &r.packets[i], &r.bytes[i]);
      r.handshake_rtt_ns[i] = uint64_t{s->rtt_us[i]} * kNsPerUs;
      r.idle_ns[i] = uint64_t{StampAge(now_ms, LastSeenMs(r.vni, *s, i, now_ms))} * kNsPerMs;
    }
    out.push_back(r);
  }
  *next_vni = vni > capacity ? 0 : static_cast<uint32_t>(vni);
  return out;
}

}  // namespace dprelay
