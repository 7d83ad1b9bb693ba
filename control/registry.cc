#include "control/registry.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/source_block.h"

namespace dprelay::control {
namespace {

uint32_t ClampCapacity(uint32_t capacity) {
  return capacity == 0 || capacity > kMaxVni ? kMaxVni : capacity;
}

}  // namespace

Registry::Registry(const RegistryConfig& config, LamportStore* lamport_store)
    : lamport_store_(lamport_store),
      lamport_reserve_block_(config.lamport_reserve_block == 0 ? 1 : config.lamport_reserve_block),
      capacity_(ClampCapacity(config.capacity)),
      last_lamport_(lamport_store->LoadLamport()),
      reserved_until_(last_lamport_) {}

absl::StatusOr<Allocation> Registry::Allocate(const KeyPair& sorted_keys,
                                              const std::array<SharedKey, 2>& shared,
                                              absl::Time now, const IpAddr& source) {
  if (!(sorted_keys[0] < sorted_keys[1])) {
    return absl::InvalidArgumentError("client keys must be distinct and sorted");
  }
  if (const Endpoint* existing = FindByPair(sorted_keys); existing != nullptr) {
    return Allocation{.endpoint = *existing, .created = false};
  }
  // Choose the VNI before spending a LamportID, so a full pool burns nothing.
  absl::StatusOr<uint32_t> vni = NextVni();
  if (!vni.ok()) {
    return vni.status();
  }
  absl::StatusOr<uint64_t> lamport = NextLamportId();
  if (!lamport.ok()) {
    return lamport.status();
  }
  Endpoint ep{
      .vni = *vni,
      .lamport_id = *lamport,
      .client_keys = sorted_keys,
      .shared = shared,
      .allocated_at = now,
      .bound = {},
      .source = source,
  };
  by_vni_.emplace(ep.vni, ep);
  vni_by_pair_.emplace(sorted_keys, ep.vni);
  Count(ep, +1);
  return Allocation{.endpoint = ep, .created = true};
}

absl::Status Registry::Restore(const Endpoint& endpoint) {
  if (!(endpoint.client_keys[0] < endpoint.client_keys[1])) {
    return absl::InvalidArgumentError("client keys must be distinct and sorted");
  }
  if (endpoint.vni == 0 || endpoint.vni > kMaxVni) {
    return absl::InvalidArgumentError(absl::StrCat("VNI ", endpoint.vni, " out of range"));
  }
  if (by_vni_.contains(endpoint.vni)) {
    return absl::AlreadyExistsError(absl::StrCat("VNI ", endpoint.vni, " is taken"));
  }
  if (vni_by_pair_.contains(endpoint.client_keys)) {
    return absl::AlreadyExistsError("the pair already has an endpoint");
  }
  by_vni_.emplace(endpoint.vni, endpoint);
  vni_by_pair_.emplace(endpoint.client_keys, endpoint.vni);
  Count(endpoint, +1);
  // Never hand out an ID at or below one a client holds. Above reserved_until_, the next
  // allocation persists a new mark first.
  last_lamport_ = std::max(last_lamport_, endpoint.lamport_id);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Registry::NextVni() {
  // PROTOCOL.md §2: take the cursor, advance it (wrapping to 1), skip VNIs still live; give up
  // after one full lap.
  for (uint32_t probe = 0; probe < capacity_; ++probe) {
    uint32_t vni = next_vni_;
    next_vni_ = next_vni_ >= capacity_ ? 1 : next_vni_ + 1;
    if (!by_vni_.contains(vni)) {
      return vni;
    }
  }
  return absl::ResourceExhaustedError("VNI pool exhausted");
}

absl::StatusOr<uint64_t> Registry::NextLamportId() {
  if (last_lamport_ == std::numeric_limits<uint64_t>::max()) {
    return absl::OutOfRangeError("LamportID space exhausted");
  }
  uint64_t next = last_lamport_ + 1;
  if (next > reserved_until_) {
    // Persist before handing out: after a crash the next process starts above this mark.
    uint64_t mark = next - 1 + lamport_reserve_block_;
    if (mark < next) {  // wrapped
      mark = std::numeric_limits<uint64_t>::max();
    }
    if (absl::Status s = lamport_store_->StoreLamport(mark); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot persist LamportID high-water mark: ", s.message()));
    }
    reserved_until_ = mark;
  }
  last_lamport_ = next;
  return next;
}

const Endpoint* Registry::FindByPair(const KeyPair& sorted_keys) const {
  auto it = vni_by_pair_.find(sorted_keys);
  return it == vni_by_pair_.end() ? nullptr : FindByVni(it->second);
}

const Endpoint* Registry::FindByVni(uint32_t vni) const {
  auto it = by_vni_.find(vni);
  return it == by_vni_.end() ? nullptr : &it->second;
}

bool Registry::Remove(uint32_t vni) {
  auto it = by_vni_.find(vni);
  if (it == by_vni_.end()) {
    return false;
  }
  vni_by_pair_.erase(it->second.client_keys);
  Count(it->second, -1);
  by_vni_.erase(it);
  return true;
}

void Registry::Count(const Endpoint& ep, int delta) {
  auto adjust = [delta](auto& map, const auto& key) {
    uint32_t& n = map[key];
    n = static_cast<uint32_t>(static_cast<int64_t>(n) + delta);
    if (n == 0) {
      map.erase(key);
    }
  };
  for (const DiscoKey& k : ep.client_keys) {
    adjust(sessions_by_key_, k.bytes);
  }
  if (ep.source.valid()) {
    const IpAddr block = SourceBlock(ep.source);
    adjust(sessions_by_source_, std::pair<uint8_t, std::array<uint8_t, 16>>{
                                    static_cast<uint8_t>(block.family), block.bytes});
  }
}

uint32_t Registry::SessionsOfKey(const DiscoKey& key) const {
  auto it = sessions_by_key_.find(key.bytes);
  return it == sessions_by_key_.end() ? 0 : it->second;
}

uint32_t Registry::SessionsFromSource(const IpAddr& canonical) const {
  const IpAddr block = SourceBlock(canonical);
  auto it = sessions_by_source_.find(
      std::pair<uint8_t, std::array<uint8_t, 16>>{static_cast<uint8_t>(block.family), block.bytes});
  return it == sessions_by_source_.end() ? 0 : it->second;
}

bool Registry::RecordBound(uint32_t vni, uint8_t leg, const AddrPort& addr) {
  auto it = by_vni_.find(vni);
  if (it == by_vni_.end() || leg > 1) {
    return false;
  }
  it->second.bound[leg] = addr;
  return true;
}

void Registry::SetCapacity(uint32_t capacity) {
  capacity_ = ClampCapacity(capacity);
  if (next_vni_ > capacity_) {
    next_vni_ = 1;
  }
}

void Registry::ForEachFrom(uint32_t from_vni, absl::FunctionRef<bool(const Endpoint&)> fn) const {
  for (auto it = by_vni_.lower_bound(from_vni); it != by_vni_.end(); ++it) {
    if (!fn(it->second)) {
      return;
    }
  }
}

}  // namespace dprelay::control
