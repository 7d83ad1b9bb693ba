// ipc::Decode on arbitrary datagrams. The encoding is canonical, so anything that decodes must
// encode back to exactly the input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "proto/ipc.h"

namespace dprelay {
namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  absl::StatusOr<ipc::Message> m = ipc::Decode(std::span<const uint8_t>(data, size));
  if (!m.ok()) {
    FUZZ_CHECK(!m.status().message().empty());
    return 0;
  }
  std::vector<uint8_t> enc = ipc::Encode(*m);
  FUZZ_CHECK(std::equal(enc.begin(), enc.end(), data, data + size));
  return 0;
}

}  // namespace
}  // namespace dprelay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::FuzzOne(data, size);
}
