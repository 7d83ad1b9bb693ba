#include "dataplane/telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace dprelay {
namespace {

// The callbacks have no user argument in DPDK 22.11: the source is process-wide.
std::mutex g_mu;
std::optional<StatsSource> g_source;  // guarded by g_mu

// Runs fill(source, d) under the lock; null (an error to the client) when unpublished.
template <typename Fill>
int Answer(rte_tel_data* d, Fill fill) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_source) {
    return -ENODEV;
  }
  rte_tel_data_start_dict(d);
  fill(*g_source, d);
  return 0;
}

int TelCounters(const char*, const char*, rte_tel_data* d) {
  return Answer(d, [](const StatsSource& s, rte_tel_data* out) {
    const DataplaneCounterValues v = s.Counters();
    for (size_t i = 0; i < kNumDataplaneCounters; ++i) {
      rte_tel_data_add_dict_u64(out, std::string(kDataplaneCounters[i].name).c_str(),
                                v.counters[i]);
    }
  });
}

int TelDrops(const char*, const char*, rte_tel_data* d) {
  return Answer(d, [](const StatsSource& s, rte_tel_data* out) {
    const DataplaneCounterValues v = s.Counters();
    for (size_t r = 0; r < kNumDropReasons; ++r) {
      rte_tel_data_add_dict_u64(out, std::string(kDropReasonLabels[r]).c_str(), v.drops[r]);
    }
  });
}

int TelWorkers(const char*, const char*, rte_tel_data* d) {
  return Answer(d, [](const StatsSource& s, rte_tel_data* out) {
    const std::vector<ipc::WorkerStats> workers = s.Workers();
    for (size_t w = 0; w < workers.size(); ++w) {
      const ipc::WorkerStats& ws = workers[w];
      rte_tel_data* c = rte_tel_data_alloc();
      if (c == nullptr) {
        return;
      }
      rte_tel_data_start_dict(c);
      rte_tel_data_add_dict_u64(c, "rx_packets", ws.rx_packets);
      rte_tel_data_add_dict_u64(c, "tx_packets", ws.tx_packets);
      rte_tel_data_add_dict_u64(c, "cycles", ws.cycles);
      rte_tel_data_add_dict_u64(c, "busy_cycles", ws.busy_cycles);
      rte_tel_data_add_dict_u64(
          c, "busy_percent",
          ws.cycles == 0 ? 0 : (ws.busy_cycles * 100 + ws.cycles / 2) / ws.cycles);
      rte_tel_data_add_dict_container(out, std::to_string(w).c_str(), c, /*keep=*/0);
    }
  });
}

int TelRings(const char*, const char*, rte_tel_data* d) {
  return Answer(d, [](const StatsSource& s, rte_tel_data* out) {
    const DataplaneCounterValues v = s.Counters();
    for (const ipc::RingStats& r : s.Rings()) {
      rte_tel_data* c = rte_tel_data_alloc();
      if (c == nullptr) {
        return;
      }
      rte_tel_data_start_dict(c);
      rte_tel_data_add_dict_u64(c, "count", r.count);
      rte_tel_data_add_dict_u64(c, "capacity", r.capacity);
      rte_tel_data_add_dict_u64(c, "overflows", v.drop(kRings[r.ring].overflow));
      rte_tel_data_add_dict_container(out, std::string(kRings[r.ring].name).c_str(), c,
                                      /*keep=*/0);
    }
  });
}

struct Command {
  const char* name;
  telemetry_cb fn;
  const char* help;
};
constexpr Command kCommands[] = {
    {"/dprelay/counters", TelCounters,
     "Returns every dprelay dataplane counter (proto/counter_catalogue.h). Takes no parameters"},
    {"/dprelay/drops", TelDrops,
     "Returns dprelay's dropped packets by reason. Takes no parameters"},
    {"/dprelay/workers", TelWorkers,
     "Returns each dprelay worker's packets and busy cycles. Takes no parameters"},
    {"/dprelay/rings", TelRings,
     "Returns dprelay's rings between lcores: waiting, capacity, overflows. Takes no parameters"},
};

absl::Status Register() {
  for (const Command& c : kCommands) {
    if (int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help); rc != 0) {
      return absl::InternalError(
          absl::StrCat("telemetry: cannot register ", c.name, ": ", std::strerror(-rc)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PublishTelemetry(const StatsSource& source) {
  static const absl::Status registered = Register();
  if (!registered.ok()) {
    return registered;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_source = source;
  return absl::OkStatus();
}

void UnpublishTelemetry() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_source.reset();
}

}  // namespace dprelay
