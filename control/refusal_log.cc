#include "control/refusal_log.h"

namespace dprelay::control {

void RefusalLog::Add(const RefusalRecord& record) {
  ++total_;
  if (ring_.size() < capacity_) {
    ring_.push_back(record);
    return;
  }
  ring_[next_] = record;
  next_ = (next_ + 1) % capacity_;
}

std::vector<RefusalRecord> RefusalLog::Recent() const {
  std::vector<RefusalRecord> out;
  out.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) {
    out.push_back(ring_[(next_ + i) % ring_.size()]);
  }
  return out;
}

}  // namespace dprelay::control
