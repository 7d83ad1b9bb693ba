#include "dataplane/main_output.h"

#include <rte_mbuf.h>

namespace dprelay {

FrameBytes FrameOf(rte_mbuf* m) {
  return FrameBytes{.data = rte_pktmbuf_mtod(m, uint8_t*),
                    .len = rte_pktmbuf_data_len(m),
                    .capacity = size_t{rte_pktmbuf_data_len(m)} + rte_pktmbuf_tailroom(m)};
}

void MainOutput::Drop(rte_mbuf* m, DropReason r) const {
  counters->Drop(r);
  rte_pktmbuf_free(m);
}

rte_mbuf* MainOutput::NewFrame(uint16_t len) const {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m != nullptr && rte_pktmbuf_append(m, len) == nullptr) {
    rte_pktmbuf_free(m);
    m = nullptr;
  }
  if (m == nullptr) {
    counters->Drop(DropReason::kNoMbuf);
  }
  return m;
}

bool MainOutput::Apply(rte_mbuf* m, const FrameVerdict& v) const {
  switch (v.action) {
    case FrameVerdict::Action::kReply: {
      const uint32_t len = rte_pktmbuf_data_len(m);
      if (v.reply_len > len) {
        // Within the tailroom: the handler checked FrameBytes::capacity.
        rte_pktmbuf_append(m, static_cast<uint16_t>(v.reply_len - len));
      } else {
        rte_pktmbuf_trim(m, static_cast<uint16_t>(len - v.reply_len));
      }
      Transmit(m);
      return true;
    }
    case FrameVerdict::Action::kToKernel:
    case FrameVerdict::Action::kToKernelOrFree:
      if (exception != nullptr) {
        exception->ToKernel(m);
      } else if (v.action == FrameVerdict::Action::kToKernel) {
        Drop(m, v.drop);
      } else {
        rte_pktmbuf_free(m);
      }
      return false;
    case FrameVerdict::Action::kDrop:
      Drop(m, v.drop);
      return false;
  }
  return false;
}

}  // namespace dprelay
