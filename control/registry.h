// The control process's table of allocations (endpoints), keyed by the sorted pair of client
// disco keys and by VNI. VNI selection follows PROTOCOL.md §2 "VNI allocation" within
// 1..capacity; LamportIDs strictly increase across restarts through a LamportStore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/lamport_store.h"
#include "proto/addr.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"
#include "proto/key.h"

namespace dprelay::control {

using KeyPair = std::array<DiscoKey, 2>;

struct Endpoint {
  uint32_t vni = 0;
  uint64_t lamport_id = 0;
  KeyPair client_keys;  // sorted ascending; leg i belongs to client_keys[i]
  // crypto_box_beforenm(client_keys[i], server disco private key), kept so that reinstalling
  // every session after a dataplane restart costs no X25519.
  std::array<SharedKey, 2> shared;
  absl::Time allocated_at;
  std::array<AddrPort, 2> bound;  // last address the dataplane reported per leg; invalid = unbound
  // Canonical source of the request that created it (for per-source quotas); unknown (invalid)
  // for endpoints rebuilt from the dataplane's dump after a control restart.
  IpAddr source;
};

struct RegistryConfig {
  // Largest VNI to hand out: the dataplane's session table size (its Hello). 0 or anything
  // above the 24-bit VNI space means the whole space.
  uint32_t capacity = kMaxVni;
  // LamportIDs are reserved on disk this many at a time, so allocation does not fsync every
  // time. A restart skips at most this many IDs, which clients never notice (only order counts).
  uint64_t lamport_reserve_block = 1000;
};

struct Allocation {
  Endpoint endpoint;  // a copy: the registry may change after the call
  bool created = false;
};

// Not thread-safe: owned by the control loop's single thread, like everything it points to.
class Registry {
 public:
  // lamport_store must outlive the registry. The first LamportID handed out is one above
  // lamport_store->LoadLamport().
  Registry(const RegistryConfig& config, LamportStore* lamport_store);

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the endpoint of the sorted pair, creating it if new. An existing endpoint is
  // returned unchanged (same VNI, LamportID and allocation time) and `shared` is ignored.
  // Errors: InvalidArgument if keys are not sorted and distinct; ResourceExhausted "VNI pool
  // exhausted"; the LamportStore's error if the next block cannot be reserved.
  absl::StatusOr<Allocation> Allocate(const KeyPair& sorted_keys,
                                      const std::array<SharedKey, 2>& shared, absl::Time now,
                                      const IpAddr& source = IpAddr{});

  // Live endpoints a client key is part of, and that requests from a source created. A source
  // is counted as its address for IPv4 and as its /64 for IPv6 (proto/source_block.h).
  uint32_t SessionsOfKey(const DiscoKey& key) const;
  uint32_t SessionsFromSource(const IpAddr& canonical) const;

  // Re-enters an endpoint the dataplane still has (control restarted): same VNI, LamportID and
  // allocation time. Later LamportIDs are above it. Errors if the VNI or the pair is taken or
  // the keys are not sorted and distinct.
  absl::Status Restore(const Endpoint& endpoint);

  const Endpoint* FindByPair(const KeyPair& sorted_keys) const;
  const Endpoint* FindByVni(uint32_t vni) const;

  // Frees the VNI (expiry or a refused install). False if no such endpoint.
  bool Remove(uint32_t vni);
  // Records where a leg is bound (leg 0 or 1). False if no such endpoint or a bad leg.
  bool RecordBound(uint32_t vni, uint8_t leg, const AddrPort& addr);

  // Sets the VNI range to 1..capacity (see RegistryConfig::capacity). Live endpoints above it
  // are kept; the dataplane refuses them on reinstall and they are removed then.
  void SetCapacity(uint32_t capacity);
  uint32_t capacity() const { return capacity_; }

  // Visits endpoints in VNI order starting at the first VNI >= from_vni; stops early when fn
  // returns false.
  void ForEachFrom(uint32_t from_vni, absl::FunctionRef<bool(const Endpoint&)> fn) const;
  size_t size() const { return by_vni_.size(); }

  uint64_t last_lamport_id() const { return last_lamport_; }

 private:
  struct PairHash {
    size_t operator()(const KeyPair& p) const {
      return absl::Hash<std::pair<std::array<uint8_t, kKeyLen>, std::array<uint8_t, kKeyLen>>>{}(
          {p[0].bytes, p[1].bytes});
    }
  };

  absl::StatusOr<uint32_t> NextVni();
  void Count(const Endpoint& ep, int delta);
  absl::StatusOr<uint64_t> NextLamportId();

  LamportStore* const lamport_store_;
  const uint64_t lamport_reserve_block_;
  uint32_t capacity_;
  uint32_t next_vni_ = 1;    // the cursor of PROTOCOL.md §2, always in 1..capacity_
  uint64_t last_lamport_;    // last ID handed out (or the persisted mark at start)
  uint64_t reserved_until_;  // highest ID the LamportStore has made durable
  absl::btree_map<uint32_t, Endpoint> by_vni_;
  absl::flat_hash_map<KeyPair, uint32_t, PairHash> vni_by_pair_;
  absl::flat_hash_map<std::array<uint8_t, kKeyLen>, uint32_t> sessions_by_key_;
  absl::flat_hash_map<std::pair<uint8_t, std::array<uint8_t, 16>>, uint32_t> sessions_by_source_;
};

}  // namespace dprelay::control
