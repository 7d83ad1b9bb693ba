// Per-source limit on handshake work (DESIGN.md §3): every control packet costs the main lcore
// a box open and a MAC, so one source may not make it do more than `rate` a second (with a
// burst allowance). A source is an IPv4 address, or an IPv6 /64 (any IPv6 host controls at
// least a /64, so counting /128s would give it unlimited budgets).
//
// The buckets are a fixed array indexed by a hash of the source (seeded per process), not a
// map: memory is bounded and constant whatever sources send, nothing is allocated or scanned
// per packet, and sources that share a bucket share its budget (2^18 buckets: with a million
// active sources, a handful per bucket, still far above what a client needs). CPU protection
// only: a well-behaved client binds a few times per session, far below the limit, so protocol
// behaviour is unchanged. Main lcore only.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/addr.h"

namespace dprelay {

class HandshakeLimiter {
 public:
  // Defaults: 50 control packets a second per source, bursts of 100. A client sends one
  // Bind per relay address and one Answer per handshake, and re-binds at most every few
  // seconds; NAT can put many clients behind one address, hence the headroom.
  static constexpr uint32_t kDefaultRate = 50;
  static constexpr uint32_t kDefaultBurst = 100;
  // 2^18 buckets of 8 bytes: 2 MiB.
  static constexpr uint32_t kDefaultBucketsLog2 = 18;

  explicit HandshakeLimiter(uint32_t rate = kDefaultRate, uint32_t burst = kDefaultBurst,
                            uint32_t buckets_log2 = kDefaultBucketsLog2);

  // True if a control packet from `src` may be handled now (and takes a token).
  bool Allow(const IpAddr& src, uint64_t now_ns);
  size_t buckets() const { return buckets_.size(); }

  // The bucket key of a source: the address, or its /64 for IPv6 (exposed for tests).
  static IpAddr SourceKey(const IpAddr& src);

 private:
  struct Bucket {
    uint32_t tokens_milli = 0;  // thousandths of a token
    uint32_t updated_ms = 0;    // last refill, ms on the caller's clock (wraps: differences)
  };
  const uint32_t rate_;
  const uint32_t burst_;
  std::vector<Bucket> buckets_;
  std::vector<uint8_t> used_;  // 0: the bucket was never filled (starts full)
};

}  // namespace dprelay
