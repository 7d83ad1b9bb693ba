#include "dataplane/main_rings.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "absl/strings/str_cat.h"

namespace dprelay {

absl::StatusOr<MainRings> MainRings::Create(const std::string& prefix) {
  MainRings r;
  for (size_t i = 0; i < kNumMainClasses; ++i) {
    const std::string name = absl::StrCat(prefix, "_", kMainClasses[i].name);
    r.rings[i] = rte_ring_create(name.c_str(), kMainClasses[i].ring_size,
                                 static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
    if (r.rings[i] == nullptr) {
      r.Free();
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot create ring ", name, ": ", rte_strerror(rte_errno)));
    }
  }
  return r;
}

void MainRings::Free() {
  for (rte_ring*& ring : rings) {
    if (ring != nullptr) {
      void* obj;
      while (rte_ring_dequeue(ring, &obj) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
      }
      rte_ring_free(ring);
      ring = nullptr;
    }
  }
}

}  // namespace dprelay
