// A listening TCP socket for control's HTTP endpoints, non-blocking, for poll().
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/unique_fd.h"
#include "proto/addr.h"

namespace dprelay::net {

struct TcpListener {
  UniqueFd fd;
  uint16_t port = 0;  // the port actually bound (useful with port 0)
};

// Binds and listens on `addr` with SO_REUSEADDR (restarts within TIME_WAIT). Errors start with
// `flag` (e.g. "--health_listen=0.0.0.0:8080") and say which step failed.
absl::StatusOr<TcpListener> ListenTcp(const AddrPort& addr, int backlog, const std::string& flag);

}  // namespace dprelay::net
