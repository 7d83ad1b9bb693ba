// A kernel UDP socket for the client: bind, send to an AddrPort, receive with a timeout.
// An IPv6 socket bound to the unspecified address is dual-stack and reaches IPv4 peers
// through v4-mapped addresses; callers only ever see plain IPv4 AddrPorts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/addr.h"

namespace dprelay::client {

class UdpSocket {
 public:
  // Binds to `local` (port 0 picks a free port). The error names the address.
  static absl::StatusOr<UdpSocket> Open(const AddrPort& local);

  UdpSocket() = default;
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The bound address (after Open, with the kernel-chosen port).
  const AddrPort& local() const { return local_; }
  // The local address the kernel would use toward `dst`: the bound one, with an unspecified
  // IP replaced by the route's source address when the route lookup works.
  AddrPort LocalAddrToward(const AddrPort& dst) const;

  // Whether this socket's family can send to `dst` (v4 from a v4 socket, v6 from a v6
  // socket, v4 also from a dual-stack v6 socket).
  bool CanReach(const AddrPort& dst) const;

  // One datagram; the error names the destination.
  absl::Status SendTo(const AddrPort& dst, std::span<const uint8_t> data);

  // Waits up to `timeout` (zero: just poll) for one datagram and copies it into `buf`
  // (truncated to its size). Returns its length, or nullopt on timeout.
  absl::StatusOr<std::optional<size_t>> ReceiveFrom(std::span<uint8_t> buf, AddrPort* from,
                                                    absl::Duration timeout);

 private:
  UdpSocket(int fd, AddrPort local, bool dual_stack)
      : fd_(fd), local_(local), dual_stack_(dual_stack) {}
  void Close();

  int fd_ = -1;
  AddrPort local_;
  bool dual_stack_ = false;
};

// Waits up to `timeout` until `a` or `b` has a datagram to read; sets *a_ready and *b_ready.
// A signal ends the wait early with neither set. Errors only when poll() fails.
absl::Status WaitReadable(const UdpSocket& a, const UdpSocket& b, absl::Duration timeout,
                          bool* a_ready, bool* b_ready);

}  // namespace dprelay::client
