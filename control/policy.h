// The allocation policy and the operator's configuration file (DESIGN.md §4 "Policy",
// "Endpoints advertised"). One line per directive, `#` starts a comment, blank lines ignored:
//
//   discokey:<64 hex>                         the old allow-list form: that key may allocate
//   allow discokey:<hex> [peers=discokey:<hex>,...] [max_sessions=N] [rate=R/s]
//                                             the key may allocate, optionally only with the
//                                             listed peers, with its own quotas
//   default [max_sessions=N] [rate=R/s]       quotas for allowed keys, field by field where
//                                             their own line sets none
//   source <prefix> [max_sessions=N] [rate=R/s]
//                                             quotas per source (IPv4 address, IPv6 /64)
//                                             within the prefix
//                                             (the longest matching prefix applies)
//   capacity N                                at most N live sessions in all
//   static_endpoint <ip:port>[,<ip:port>...]  addresses advertised before the dataplane's
//
// Semantics: both keys of a pair must be allowed; a key with peers= may only be paired with
// those peers (checked from both sides). max_sessions counts live sessions the key is part of
// (or, for source, that were created by requests from that one source); rate is a token
// bucket over authenticated requests (new and repeated), refilled at R per second with a
// burst of max(1, ceil(R)). A source is an IPv4 address or an IPv6 /64
// (proto/source_block.h): the rule is the longest prefix containing the address, and every
// address of a /64 shares its sessions and rate. Session quotas and capacity only stop new
// sessions: a pair that already has an endpoint always gets it again (subject to rate).
// Parse errors name the file and line: "<file>:<line>: ...".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "control/source_addr.h"
#include "proto/addr.h"
#include "proto/key.h"

namespace dprelay::control {

struct Quota {
  std::optional<uint32_t> max_sessions;
  std::optional<double> rate_per_second;

  bool empty() const { return !max_sessions && !rate_per_second; }
};

struct KeyRule {
  Quota quota;  // fields left unset take the `default` line's value
  bool peers_restricted = false;
  absl::flat_hash_set<std::array<uint8_t, kKeyLen>> peers;
  int line = 0;
};

struct SourceRule {
  IpPrefix prefix;
  Quota quota;
  int line = 0;
};

// Immutable after construction; replace the whole object to reload.
class Policy {
 public:
  Policy() = default;

  // Errors name the file, and the line number for content errors.
  static absl::StatusOr<Policy> LoadFile(const std::string& path);
  // name is what errors call the source (normally the file path).
  static absl::StatusOr<Policy> Parse(std::string_view text, std::string_view name);

  bool Allows(const DiscoKey& key) const { return keys_.contains(key.bytes); }
  // Both keys allowed, and each key's peer list (if any) names the other.
  bool AllowsPair(const DiscoKey& a, const DiscoKey& b) const;
  // Only called for allowed keys.
  bool PeersPermit(const DiscoKey& key, const DiscoKey& peer) const;
  // The quota that applies to an allowed key (its own, else `default`).
  Quota KeyQuota(const DiscoKey& key) const;
  // The longest prefix containing the canonical source, or nullptr.
  const SourceRule* MatchSource(const IpAddr& canonical) const;

  size_t size() const { return keys_.size(); }
  size_t source_rules() const { return sources_.size(); }
  // 0 = no limit other than the VNI space.
  uint32_t capacity() const { return capacity_; }
  const std::vector<AddrPort>& static_endpoints() const { return static_endpoints_; }
  // Different for every Parse() in this process (copies keep it; a default Policy has 0), so a
  // holder of a pointer to a policy that is replaced in place can tell that it was.
  uint64_t generation() const { return generation_; }

 private:
  uint64_t generation_ = 0;
  absl::flat_hash_map<std::array<uint8_t, kKeyLen>, KeyRule> keys_;
  Quota default_quota_;
  std::vector<SourceRule> sources_;  // sorted by prefix length, longest first
  uint32_t capacity_ = 0;
  std::vector<AddrPort> static_endpoints_;
};

// "ip:port[,ip:port...]" as used by --static_endpoints, the policy file and dprelayctl. Refuses
// port 0, unspecified addresses and an empty list; the error names the offending item.
absl::StatusOr<std::vector<AddrPort>> ParseEndpointList(std::string_view text);

}  // namespace dprelay::control
