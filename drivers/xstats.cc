#include "drivers/xstats.h"

#include <rte_ethdev.h>

namespace dprelay {

std::vector<std::pair<std::string, uint64_t>> ReadXstats(uint16_t port_id) {
  std::vector<std::pair<std::string, uint64_t>> out;
  const int n = rte_eth_xstats_get_names(port_id, nullptr, 0);
  if (n <= 0) {
    return out;
  }
  std::vector<rte_eth_xstat_name> names(static_cast<size_t>(n));
  std::vector<rte_eth_xstat> values(static_cast<size_t>(n));
  if (rte_eth_xstats_get_names(port_id, names.data(), static_cast<unsigned>(n)) != n ||
      rte_eth_xstats_get(port_id, values.data(), static_cast<unsigned>(n)) != n) {
    return out;  // the count changed under us (port reconfigured): skip this snapshot
  }
  out.reserve(static_cast<size_t>(n));
  for (const rte_eth_xstat& v : values) {
    if (v.id < names.size()) {
      out.emplace_back(names[v.id].name, v.value);
    }
  }
  return out;
}

}  // namespace dprelay
