#include "dataplane/neighbours.h"

#include <arpa/inet.h>

namespace dprelay {

uint32_t Ipv4Subnet::mask_be() const {
  uint32_t host = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  return htonl(host);
}

bool Ipv6Subnet::Contains(const Ip6Bytes& ip) const {
  const unsigned full = prefix_len / 8, rest = prefix_len % 8;
  for (unsigned i = 0; i < full; ++i) {
    if (ip[i] != addr[i]) {
      return false;
    }
  }
  if (rest == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip[full] & mask) == (addr[full] & mask);
}

bool IsIpv6LinkLocal(const Ip6Bytes& ip) { return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80; }

Ip6Bytes LinkLocalFromMac(const MacAddr& mac) {
  return Ip6Bytes{
      0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<uint8_t>(mac[0] ^ 0x02),
      mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
}

Ip6Bytes SolicitedNodeMulticast(const Ip6Bytes& target) {
  return Ip6Bytes{0xff, 0x02, 0, 0,    0,    0,          0,          0,
                  0,    0,    0, 0x01, 0xff, target[13], target[14], target[15]};
}

bool Neighbours::OnLink(const IpAddr& ip) const {
  if (ip.is_v4()) {
    return config_.v4.Contains(ip.v4_be());
  }
  if (ip.is_v6() && config_.v6) {
    return IsIpv6LinkLocal(ip.bytes) || config_.v6->Contains(ip.bytes);
  }
  return false;
}

std::optional<IpAddr> Neighbours::NextHop(const IpAddr& dst) const {
  if (OnLink(dst)) {
    return dst;
  }
  if (dst.is_v4() && config_.gateway4) {
    return IpAddr::V4FromBe(*config_.gateway4);
  }
  if (dst.is_v6() && config_.v6 && config_.gateway6) {
    return IpAddr::V6(config_.gateway6->data());
  }
  return std::nullopt;
}

std::optional<MacAddr> Neighbours::Lookup(const IpAddr& ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end() || !it->second.resolved) {
    return std::nullopt;
  }
  return it->second.mac;
}

bool Neighbours::Learn(const IpAddr& ip, const MacAddr& mac, uint64_t now_ns, bool override,
                       bool in_use) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries && !in_use) {
      return false;
    }
    it = entries_.try_emplace(ip).first;
  }
  Entry& e = it->second;
  if (e.resolved && e.mac != mac) {
    if (!override || now_ns - e.changed_ns < kLockNs) {
      return false;  // keep what we have (and do not count this as a confirmation)
    }
  }
  const bool changed = !e.resolved || e.mac != mac;
  if (changed) {
    e.changed_ns = now_ns;
  }
  e.mac = mac;
  e.resolved = true;
  e.confirmed_ns = now_ns;
  return changed;
}

std::vector<IpAddr> Neighbours::Expire(uint64_t now_ns) {
  std::vector<IpAddr> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (e.resolved && now_ns - e.confirmed_ns > kExpireNs) {
      gone.push_back(it->first);
      entries_.erase(it++);
    } else if (!e.resolved && now_ns - e.requested_ns > kExpireNs) {
      entries_.erase(it++);  // asked for once, never answered, no longer asked for
    } else {
      ++it;
    }
  }
  return gone;
}

bool Neighbours::ShouldRequest(const IpAddr& ip, uint64_t now_ns) {
  Entry& e = entries_[ip];
  bool fresh = e.resolved && now_ns - e.confirmed_ns < kReachableNs;
  if (fresh) {
    return false;
  }
  if (e.requested_ns != 0 && now_ns - e.requested_ns < kRequestIntervalNs) {
    return false;
  }
  e.requested_ns = now_ns;
  return true;
}

}  // namespace dprelay
