// Per-source-address limit on handshake work (DESIGN.md §3): every control packet costs the
// main lcore a box open and a MAC, so one address may not make it do more than `rate` a second
// (with a burst allowance). CPU protection only: a well-behaved client binds a few times per
// session, far below the limit, so protocol behaviour is unchanged. Main lcore only.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "proto/addr.h"

namespace dprelay {

class HandshakeLimiter {
 public:
  // Defaults: 50 control packets a second per address, bursts of 100. A client sends one
  // Bind per relay address and one Answer per handshake, and re-binds at most every few
  // seconds; NAT can put many clients behind one address, hence the headroom.
  static constexpr uint32_t kDefaultRate = 50;
  static constexpr uint32_t kDefaultBurst = 100;
  // Idle buckets are forgotten after this long, so the table stays small.
  static constexpr uint64_t kForgetNs = 60ull * 1'000'000'000;

  explicit HandshakeLimiter(uint32_t rate = kDefaultRate, uint32_t burst = kDefaultBurst)
      : rate_(rate), burst_(burst) {}

  // True if a control packet from `src` may be handled now (and takes a token).
  bool Allow(const IpAddr& src, uint64_t now_ns);
  // Drops buckets idle for kForgetNs (call from housekeeping).
  void Forget(uint64_t now_ns);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    uint64_t tokens_milli = 0;  // thousandths of a token
    uint64_t updated_ns = 0;
  };
  const uint32_t rate_;
  const uint32_t burst_;
  absl::flat_hash_map<IpAddr, Bucket> buckets_;
};

}  // namespace dprelay
