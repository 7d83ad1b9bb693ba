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
  auto sum_path = [&](auto member, FamilyPath path) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += (blocks[i].*member)[static_cast<size_t>(path)].load(std::memory_order_relaxed);
    }
    return total;
  };
  struct Direction {
    const char* suffix;
    uint64_t packets, bytes;
  };
  Direction dirs[] = {
      {"udp4_udp4", sum(&LcoreCounters::forwarded_packets), sum(&LcoreCounters::forwarded_bytes)},
      {"udp4_udp6", sum_path(&LcoreCounters::family_packets, FamilyPath::kV4ToV6),
       sum_path(&LcoreCounters::family_bytes, FamilyPath::kV4ToV6)},
      {"udp6_udp4", sum_path(&LcoreCounters::family_packets, FamilyPath::kV6ToV4),
       sum_path(&LcoreCounters::family_bytes, FamilyPath::kV6ToV4)},
      {"udp6_udp6", sum_path(&LcoreCounters::family_packets, FamilyPath::kV6ToV6),
       sum_path(&LcoreCounters::family_bytes, FamilyPath::kV6ToV6)},
  };
  uint64_t packets = 0, bytes = 0;
  for (const Direction& d : dirs) {
    packets += d.packets;
    bytes += d.bytes;
  }
  std::vector<std::pair<std::string, uint64_t>> out = {
      {"rx_packets", sum(&LcoreCounters::rx_packets)},
      {"tx_packets", sum(&LcoreCounters::tx_packets)},
      {"forwarded_packets", packets},
      {"forwarded_bytes", bytes},
      {"challenges_sent", sum(&LcoreCounters::challenges_sent)},
      {"legs_bound", sum(&LcoreCounters::legs_bound)},
      {"arp_replies", sum(&LcoreCounters::arp_replies)},
      {"arp_requests", sum(&LcoreCounters::arp_requests)},
      {"icmp_echo_replies", sum(&LcoreCounters::icmp_echo_replies)},
      {"nd_advertisements", sum(&LcoreCounters::nd_advertisements)},
      {"nd_solicitations", sum(&LcoreCounters::nd_solicitations)},
      {"mld_reports", sum(&LcoreCounters::mld_reports)},
      {"to_exception", sum(&LcoreCounters::to_exception)},
      {"exception_to_kernel", sum(&LcoreCounters::exception_to_kernel)},
      {"exception_from_kernel", sum(&LcoreCounters::exception_from_kernel)},
      {"worker_cycles", sum(&LcoreCounters::worker_cycles)},
      {"worker_busy_cycles", sum(&LcoreCounters::worker_busy_cycles)},
  };
  uint64_t to_main = 0;
  for (size_t cls = 0; cls < kNumMainClasses; ++cls) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += blocks[i].to_main[cls].load(std::memory_order_relaxed);
    }
    to_main += total;
    out.emplace_back(absl::StrCat("to_main_", kMainClasses[cls].name), total);
  }
  out.emplace_back("to_main", to_main);
  for (const Direction& d : dirs) {
    out.emplace_back(absl::StrCat("forwarded_packets_", d.suffix), d.packets);
    out.emplace_back(absl::StrCat("forwarded_bytes_", d.suffix), d.bytes);
  }
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
