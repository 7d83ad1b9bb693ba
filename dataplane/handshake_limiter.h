// Per-source limit on handshake work (DESIGN.md §3): every control packet costs the main lcore
// a box open and a MAC, so one source may not make it do more than `rate` a second (with a
// burst allowance). A source is an IPv4 address, or an IPv6 /64 (any IPv6 host controls at
// least a /64, so counting /128s would give it unlimited buckets). The table is bounded:
// beyond kMaxBuckets, new sources share one overflow bucket. CPU protection only: a
// well-behaved client binds a few times per session, far below the limit, so protocol
// behaviour is unchanged. Main lcore only.
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
  // At most this many sources are tracked one by one (about 3 MiB); more share one bucket.
  static constexpr size_t kMaxBuckets = 65536;

  explicit HandshakeLimiter(uint32_t rate = kDefaultRate, uint32_t burst = kDefaultBurst,
                            size_t max_buckets = kMaxBuckets)
      : rate_(rate), burst_(burst), max_buckets_(max_buckets) {}

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
  // The bucket key of a source: the address, or its /64 for IPv6.
  static IpAddr SourceKey(const IpAddr& src);

  const uint32_t rate_;
  const uint32_t burst_;
  const size_t max_buckets_;
  uint64_t forced_forget_ns_ = 0;  // last Forget because the table was full
  absl::flat_hash_map<IpAddr, Bucket> buckets_;
};

}  // namespace dprelay
