#include "dataplane/counters.h"

#include "absl/strings/str_cat.h"

namespace dprelay {

std::vector<std::pair<std::string, uint64_t>> SumCounters(const LcoreCounters* blocks, size_t n) {
  auto sum = [&](auto member) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += (blocks[i].*member).load(std::memory_order_relaxed);
    }
    return total;
  };
  std::vector<std::pair<std::string, uint64_t>> out = {
      {"rx_packets", sum(&LcoreCounters::rx_packets)},
      {"tx_packets", sum(&LcoreCounters::tx_packets)},
      {"forwarded_packets", sum(&LcoreCounters::forwarded_packets)},
      {"forwarded_bytes", sum(&LcoreCounters::forwarded_bytes)},
      {"to_main", sum(&LcoreCounters::to_main)},
      {"challenges_sent", sum(&LcoreCounters::challenges_sent)},
      {"legs_bound", sum(&LcoreCounters::legs_bound)},
      {"arp_replies", sum(&LcoreCounters::arp_replies)},
      {"arp_requests", sum(&LcoreCounters::arp_requests)},
      {"icmp_echo_replies", sum(&LcoreCounters::icmp_echo_replies)},
      {"to_exception", sum(&LcoreCounters::to_exception)},
      {"exception_to_kernel", sum(&LcoreCounters::exception_to_kernel)},
      {"exception_from_kernel", sum(&LcoreCounters::exception_from_kernel)},
      {"worker_cycles", sum(&LcoreCounters::worker_cycles)},
      {"worker_busy_cycles", sum(&LcoreCounters::worker_busy_cycles)},
  };
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += blocks[i].drops[r].load(std::memory_order_relaxed);
    }
    if (total != 0) {
      out.emplace_back(absl::StrCat("drop_", std::string(kDropReasonLabels[r])), total);
    }
  }
  return out;
}

}  // namespace dprelay
