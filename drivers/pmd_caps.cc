#include "drivers/pmd_caps.h"

#include <array>

namespace dprelay {
namespace {

// Descriptor counts: 1024 is the usual sweet spot for physical NICs (deep enough to absorb a
// burst while the worker is busy, small enough to stay in cache); vdevs ignore or clamp them.
constexpr std::array kCaps = {
    PmdCaps{"net_af_xdp", false, true, 1024, 1024},
    PmdCaps{"net_af_packet", false, true, 1024, 1024},
    PmdCaps{"net_ring", false, false, 1024, 1024},
    PmdCaps{"net_null", false, false, 1024, 1024},
    PmdCaps{"net_memif", false, false, 1024, 1024},
    PmdCaps{"net_tap", false, true, 1024, 1024, /*paired_queues=*/true},
    PmdCaps{"net_virtio_user", false, false, 1024, 1024},
    PmdCaps{"net_ena", true, false, 1024, 1024},
    PmdCaps{"mlx5_pci", true, false, 1024, 1024},
    PmdCaps{"net_ice", true, false, 1024, 1024},
    PmdCaps{"net_i40e", true, false, 1024, 1024},
    PmdCaps{"net_ixgbe", true, false, 1024, 1024},
};
constexpr PmdCaps kDefaultCaps{"", false, false, 1024, 1024};

}  // namespace

const PmdCaps& LookupPmdCaps(std::string_view driver_name) {
  for (const PmdCaps& c : kCaps) {
    if (c.driver == driver_name) {
      return c;
    }
  }
  return kDefaultCaps;
}

}  // namespace dprelay
