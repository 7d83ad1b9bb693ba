#include "control/counters_render.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dprelay::control {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kNameWidth = 30;

// The member `key` of `object`, or nullptr (also when object is nullptr).
const Json* Member(const Json* object, std::string_view key) {
  if (object == nullptr || !object->is_object()) {
    return nullptr;
  }
  auto it = object->find(key);
  return it == object->end() ? nullptr : &*it;
}

uint64_t U64(const Json* j) { return j != nullptr && j->is_number() ? j->get<uint64_t>() : 0; }

// What a counter went up by since the earlier sample. Lower than before: the dataplane
// restarted and counts from zero again.
uint64_t Delta(uint64_t now, uint64_t then) { return now >= then ? now - then : now; }

struct Interval {
  const Json* before = nullptr;  // the earlier sample, or nullptr: no rates
  double seconds = 0;
};

// "name value [rate/s]" lines of a {name: value} object; zeros left out unless all.
void Section(std::string* out, const std::string& title, const Json& values, const Json* before,
             const Interval& interval, bool all, bool rates) {
  std::string lines;
  for (const auto& [name, v] : values.items()) {
    const uint64_t value = v.get<uint64_t>();
    if (value == 0 && !all) {
      continue;
    }
    absl::StrAppendFormat(&lines, "  %-*s %16u", kNameWidth, name, value);
    if (rates && interval.before != nullptr) {
      if (const Json* then = Member(before, name); then != nullptr) {
        absl::StrAppendFormat(&lines, " %14.1f/s", Delta(value, U64(then)) / interval.seconds);
      }
    }
    lines += "\n";
  }
  absl::StrAppend(out, title, lines.empty() ? " none\n" : "\n", lines);
}

void Workers(std::string* out, const Json& now, const Interval& interval) {
  const Json* workers = Member(&now, "workers");
  const Json* before = Member(interval.before, "workers");
  absl::StrAppendFormat(out, "workers:%*s %16s %16s\n", kNameWidth - 5,
                        interval.before != nullptr
                            ? absl::StrFormat("busy (last %.0fs)", interval.seconds)
                            : std::string("busy"),
                        "rx_packets", "tx_packets");
  if (workers == nullptr) {
    return;
  }
  for (size_t i = 0; i < workers->size(); ++i) {
    const Json& w = (*workers)[i];
    double busy = w.value("busy_ratio", 0.0);
    if (before != nullptr && i < before->size()) {
      const Json& b = (*before)[i];
      const uint64_t cycles = Delta(U64(Member(&w, "cycles")), U64(Member(&b, "cycles")));
      const uint64_t busy_cycles =
          Delta(U64(Member(&w, "busy_cycles")), U64(Member(&b, "busy_cycles")));
      busy = cycles == 0 ? 0 : static_cast<double>(busy_cycles) / static_cast<double>(cycles);
    }
    absl::StrAppendFormat(out, "  %-*u %5.1f%% %16u %16u\n", kNameWidth - 6,
                          U64(Member(&w, "worker")), busy * 100, U64(Member(&w, "rx_packets")),
                          U64(Member(&w, "tx_packets")));
  }
}

void Rings(std::string* out, const Json& now) {
  absl::StrAppendFormat(out, "rings:%*s %10s %10s\n", kNameWidth + 13, "waiting", "capacity",
                        "overflows");
  const Json* rings = Member(&now, "rings");
  if (rings == nullptr) {
    return;
  }
  for (const Json& r : *rings) {
    absl::StrAppendFormat(out, "  %-*s %16u %10u %10u\n", kNameWidth, r.value("ring", ""),
                          U64(Member(&r, "count")), U64(Member(&r, "capacity")),
                          U64(Member(&r, "overflows")));
  }
}

}  // namespace

Json CountersJson(const ipc::StatsReply& stats, absl::Time sampled) {
  Json counters = Json::object();
  Json gauges = Json::object();
  for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
    const CounterInfo& c = kDataplaneCounters[i];
    (c.kind == CounterKind::kGauge ? gauges : counters)[std::string(c.name)] =
        stats.counters.counters[i];
  }
  Json drops = Json::object();
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    drops[std::string(kDropReasonLabels[r])] = stats.counters.drops[r];
  }
  Json workers = Json::array();
  for (size_t w = 0; w < stats.workers.size(); ++w) {
    const ipc::WorkerStats& s = stats.workers[w];
    workers.push_back({{"worker", w},
                       {"rx_packets", s.rx_packets},
                       {"tx_packets", s.tx_packets},
                       {"cycles", s.cycles},
                       {"busy_cycles", s.busy_cycles},
                       {"busy_ratio", s.cycles == 0 ? 0.0
                                                    : static_cast<double>(s.busy_cycles) /
                                                          static_cast<double>(s.cycles)}});
  }
  Json rings = Json::array();
  for (const ipc::RingStats& r : stats.rings) {
    const RingInfo& info = kRings[r.ring];
    rings.push_back({{"ring", std::string(info.name)},
                     {"count", r.count},
                     {"capacity", r.capacity},
                     {"overflows", stats.counters.drop(info.overflow)}});
  }
  std::map<uint16_t, Json> by_port;
  for (const ipc::NicXstat& x : stats.nic) {
    by_port.try_emplace(x.port, Json::object()).first->second[x.name] = x.value;
  }
  Json nic = Json::array();
  for (auto& [port, xstats] : by_port) {
    nic.push_back({{"port", port}, {"xstats", std::move(xstats)}});
  }
  return {{"sampled_unix_ms", absl::ToUnixMillis(sampled)},
          {"counters", std::move(counters)},
          {"gauges", std::move(gauges)},
          {"drops", std::move(drops)},
          {"workers", std::move(workers)},
          {"rings", std::move(rings)},
          {"nic", std::move(nic)}};
}

std::string RenderCountersText(const Json& now, const CountersTextOptions& options) {
  Interval interval;
  if (options.before != nullptr) {
    const int64_t ms = Member(&now, "sampled_unix_ms")->get<int64_t>() -
                       Member(options.before, "sampled_unix_ms")->get<int64_t>();
    if (ms > 0) {
      interval = {options.before, ms / 1000.0};
    }
  }
  std::string out = options.all ? "" : "(counters that are zero are not shown; --all shows them)\n";
  static const Json kEmpty = Json::object();
  auto section = [&](std::string_view key) -> const Json& {
    const Json* j = Member(&now, key);
    return j != nullptr ? *j : kEmpty;
  };
  Section(&out, "counters:", section("counters"), Member(interval.before, "counters"), interval,
          options.all, true);
  Section(&out, "gauges:", section("gauges"), nullptr, interval, options.all, false);
  Section(&out, "drops by reason:", section("drops"), Member(interval.before, "drops"), interval,
          options.all, true);
  Workers(&out, now, interval);
  Rings(&out, now);
  const Json* nic = Member(&now, "nic");
  const Json* nic_before = Member(interval.before, "nic");
  for (size_t i = 0; nic != nullptr && i < nic->size(); ++i) {
    const Json& port = (*nic)[i];
    const Json* before = nullptr;
    for (size_t k = 0; nic_before != nullptr && k < nic_before->size(); ++k) {
      if ((*nic_before)[k].value("port", -1) == port.value("port", -2)) {
        before = Member(&(*nic_before)[k], "xstats");
      }
    }
    Section(&out, absl::StrCat("nic port ", port.value("port", 0), " (xstats):"), port.at("xstats"),
            before, interval, options.all, true);
  }
  return out;
}

std::string RenderCounters(const ipc::StatsReply& stats, absl::Time sampled, bool json, bool all) {
  const Json j = CountersJson(stats, sampled);
  return json ? j.dump() + "\n" : RenderCountersText(j, {.all = all});
}

}  // namespace dprelay::control
