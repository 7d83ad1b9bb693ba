#include "proto/counter_catalogue.h"

namespace dprelay {
namespace {

// Series of one Prometheus family must agree on their help (and the family's kind).
constexpr bool FamiliesAgree() {
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    for (size_t j = 0; j < i; ++j) {
      const CounterInfo& a = kDataplaneCounters[i];
      const CounterInfo& b = kDataplaneCounters[j];
      if (!a.metric.empty() && a.metric == b.metric && (a.help != b.help || a.kind != b.kind)) {
        return false;
      }
    }
  }
  return true;
}
static_assert(FamiliesAgree(), "series of one metric family need the same help and kind");

}  // namespace

std::string DropCounterName(DropReason r) {
  std::string name(kDropNamePrefix);
  name += DropReasonLabel(r);
  return name;
}

std::vector<std::pair<std::string, uint64_t>> NamedCounters(const DataplaneCounterValues& v) {
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(kNumDataplaneCounters + kNumDropReasons);
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    out.emplace_back(std::string(kDataplaneCounters[i].name), v.counters[i]);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    if (v.drops[r] != 0) {
      out.emplace_back(DropCounterName(static_cast<DropReason>(r)), v.drops[r]);
    }
  }
  return out;
}

}  // namespace dprelay
