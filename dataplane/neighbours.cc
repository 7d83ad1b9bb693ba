#include "dataplane/neighbours.h"

#include <arpa/inet.h>

namespace dprelay {

uint32_t Ipv4Subnet::mask_be() const {
  uint32_t host = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  return htonl(host);
}

std::optional<uint32_t> Neighbours::NextHop(uint32_t dst_be) const {
  if (subnet_.Contains(dst_be)) {
    return dst_be;
  }
  return gateway_be_;
}

std::optional<MacAddr> Neighbours::Lookup(uint32_t ip_be) const {
  auto it = entries_.find(ip_be);
  if (it == entries_.end() || !it->second.resolved) {
    return std::nullopt;
  }
  return it->second.mac;
}

bool Neighbours::Learn(uint32_t ip_be, const MacAddr& mac, uint64_t now_ns) {
  Entry& e = entries_[ip_be];
  bool changed = !e.resolved || e.mac != mac;
  e.mac = mac;
  e.resolved = true;
  e.confirmed_ns = now_ns;
  return changed;
}

std::vector<uint32_t> Neighbours::Expire(uint64_t now_ns) {
  std::vector<uint32_t> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (e.resolved && now_ns - e.confirmed_ns > kExpireNs) {
      gone.push_back(it->first);
      entries_.erase(it++);
    } else {
      ++it;
    }
  }
  return gone;
}

bool Neighbours::ShouldRequest(uint32_t ip_be, uint64_t now_ns) {
  Entry& e = entries_[ip_be];
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
