// The allocation socket (--listen): a kernel UDP socket that reads requests and sends each reply
// from the local address its request was sent to.
//
// A socket bound to a wildcard address (0.0.0.0, or [::] which is dual-stack) would leave a
// reply's source to the kernel, and the kernel looks the route up towards the client without a
// source: on AWS the default route leaves through the management ENI, so the reply goes out
// there with that ENI's address and the NLB that forwarded the request does not recognise it;
// a source-based policy rule (`ip rule add from <relay addr> ...`) cannot match either. So a
// wildcard socket asks for each request's destination (IP_PKTINFO; IPV6_RECVPKTINFO, which
// reports IPv4 requests on a dual-stack socket as ::ffff:a.b.c.d) and sends the reply with it
// as the source (in_pktinfo.ipi_spec_dst / in6_pktinfo.ipi6_addr). The interface index stays 0,
// so routing, policy rules included, still chooses the way out. PROTOCOL.md §9.2 asks the same
// of the relay port. A socket bound to one address already sends from it and asks nothing.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/addr.h"

namespace dprelay::control {

// Not thread-safe: the control loop's thread only.
class AllocationSocket {
 public:
  struct Datagram {
    size_t size = 0;  // bytes read into the caller's buffer
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
    // The address to reply from, in the socket's family (v4-mapped on a dual-stack socket): the
    // request's destination, or for an IPv4 broadcast the address the kernel would answer from.
    // Invalid when the socket does not report it (bound to one address) or the destination was
    // a multicast or broadcast address; the kernel then chooses, as for a plain sendto.
    IpAddr reply_from;
  };

  // Binds (non-blocking) and, for a wildcard address, enables IP_PKTINFO or IPV6_RECVPKTINFO.
  // Errors name the address and the call or socket option that failed.
  static absl::StatusOr<std::unique_ptr<AllocationSocket>> Open(const AddrPort& listen);
  ~AllocationSocket();
  AllocationSocket(const AllocationSocket&) = delete;
  AllocationSocket& operator=(const AllocationSocket&) = delete;

  int fd() const { return fd_; }
  // The bound address (useful with port 0).
  const AddrPort& local_addr() const { return local_addr_; }
  // True when replies carry each request's destination as their source (wildcard binds).
  bool reports_destination() const { return reports_destination_; }

  // Reads one datagram into buf (a longer one is truncated; size is what was kept). nullopt when
  // nothing is waiting. ICMP errors caused by earlier replies (ECONNREFUSED) surface here.
  absl::StatusOr<std::optional<Datagram>> Receive(std::span<uint8_t> buf);
  // Sends bytes to the request's peer from request.reply_from (when valid). Errors name the peer.
  absl::Status Reply(const Datagram& request, std::span<const uint8_t> bytes);

 private:
  AllocationSocket(int fd, AddrPort local_addr, bool reports_destination);

  const int fd_;
  const AddrPort local_addr_;
  const bool reports_destination_;
};

}  // namespace dprelay::control
