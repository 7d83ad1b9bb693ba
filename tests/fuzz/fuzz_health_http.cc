// The health endpoint's HTTP request parser (control/health_server.h): load balancers and
// anyone who reaches the port send it arbitrary bytes. Every request head gets a complete
// HTTP/1.1 response with a known status, never a crash; the body appears only for GET.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/health_server.h"
#include "fuzz_check.h"

namespace dprelay::control {
namespace {

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view head(reinterpret_cast<const char*>(data), size);
  for (const HealthVerdict& v : {HealthVerdict{true, "ok"}, HealthVerdict{false, "down"}}) {
    const std::string r = HealthHttpResponse(head, v);
    FUZZ_CHECK(StartsWith(r, "HTTP/1.1 200 ") || StartsWith(r, "HTTP/1.1 503 ") ||
               StartsWith(r, "HTTP/1.1 400 ") || StartsWith(r, "HTTP/1.1 404 ") ||
               StartsWith(r, "HTTP/1.1 405 "));
    FUZZ_CHECK(r.find("\r\n\r\n") != std::string::npos);  // a complete head
    // 200 and 503 only for the health path, and as the verdict says.
    if (StartsWith(r, "HTTP/1.1 200 ")) {
      FUZZ_CHECK(v.healthy);
    }
    if (StartsWith(r, "HTTP/1.1 503 ")) {
      FUZZ_CHECK(!v.healthy);
    }
  }
  return 0;
}

}  // namespace
}  // namespace dprelay::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dprelay::control::FuzzOne(data, size);
}
