#include "client/udp_socket.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace dprelay::client {
namespace {

// Large enough that a peer sending 1000+ packets/s does not overflow while this side is
// busy printing or binding; the kernel clamps it to rmem_max, which is fine.
constexpr int kSocketBufferBytes = 4 << 20;

bool IsUnspecified(const IpAddr& ip) {
  for (uint8_t b : ip.bytes) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// poll()'s timeout: rounded up so that a sub-millisecond wait does not turn into a busy poll,
// and capped (an infinite wait is one hour, then the caller looks again).
int PollTimeoutMs(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    return 0;
  }
  return static_cast<int>(
      absl::ToInt64Milliseconds(std::min(timeout, absl::Hours(1)) + absl::Microseconds(999)));
}

absl::StatusOr<AddrPort> SockName(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", ErrnoText(errno)));
  }
  absl::StatusOr<AddrPort> ap = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  if (!ap.ok()) {
    return ap.status();
  }
  ap->ip = ap->ip.Unmapped();
  return ap;
}

}  // namespace

absl::StatusOr<UdpSocket> UdpSocket::Open(const AddrPort& local) {
  const std::string name = FormatAddrPort(local);
  if (!local.valid()) {
    return absl::InvalidArgumentError(absl::StrCat("local address ", name, " is not valid"));
  }
  const int domain = local.ip.is_v6() ? AF_INET6 : AF_INET;
  int fd = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket for ", name, ": ", ErrnoText(errno)));
  }
  bool dual_stack = false;
  if (local.ip.is_v6() && IsUnspecified(local.ip)) {
    int off = 0;
    dual_stack = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == 0;
  }
  int buf = kSocketBufferBytes;
  // Best effort: a smaller buffer only costs drops under bursts, which the counters show.
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));

  sockaddr_storage ss{};
  socklen_t len = ToSockaddr(local, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("bind ", name, ": ", ErrnoText(err)));
  }
  absl::StatusOr<AddrPort> bound = SockName(fd);
  if (!bound.ok()) {
    close(fd);
    return absl::InternalError(absl::StrCat("socket ", name, ": ", bound.status().message()));
  }
  return UdpSocket(fd, *bound, dual_stack);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), local_(other.local_), dual_stack_(other.dual_stack_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    local_ = other.local_;
    dual_stack_ = other.dual_stack_;
  }
  return *this;
}

UdpSocket::~UdpSocket() { Close(); }

void UdpSocket::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

bool UdpSocket::CanReach(const AddrPort& dst) const {
  if (!is_open() || !dst.valid()) {
    return false;
  }
  if (dst.ip.family == local_.ip.family) {
    return true;
  }
  return dst.ip.is_v4() && dual_stack_;
}

AddrPort UdpSocket::LocalAddrToward(const AddrPort& dst) const {
  if (!IsUnspecified(local_.ip) || !dst.valid()) {
    return local_;
  }
  int probe = socket(dst.ip.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    return local_;
  }
  AddrPort result = local_;
  sockaddr_storage ss{};
  socklen_t len = ToSockaddr(dst, &ss);
  // connect() on UDP sends nothing; it only resolves the route and its source address.
  if (connect(probe, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    absl::StatusOr<AddrPort> src = SockName(probe);
    if (src.ok()) {
      result.ip = src->ip;
    }
  }
  close(probe);
  return result;
}

absl::Status UdpSocket::SendTo(const AddrPort& dst, std::span<const uint8_t> data) {
  if (!CanReach(dst)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot send to ", FormatAddrPort(dst),
                                                   " from socket ", FormatAddrPort(local_)));
  }
  AddrPort target = dst;
  if (dst.ip.is_v4() && local_.ip.is_v6()) {
    target.ip = dst.ip.V4Mapped();
  }
  sockaddr_storage ss{};
  socklen_t len = ToSockaddr(target, &ss);
  ssize_t n;
  do {
    n = sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::UnavailableError(
        absl::StrCat("send to ", FormatAddrPort(dst), ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status WaitReadable(const UdpSocket& a, const UdpSocket& b, absl::Duration timeout,
                          bool* a_ready, bool* b_ready) {
  pollfd pfds[2] = {{.fd = a.fd(), .events = POLLIN, .revents = 0},
                    {.fd = b.fd(), .events = POLLIN, .revents = 0}};
  *a_ready = false;
  *b_ready = false;
  const int ready = poll(pfds, 2, PollTimeoutMs(timeout));
  if (ready < 0) {
    if (errno == EINTR) {
      return absl::OkStatus();
    }
    return absl::InternalError(absl::StrCat("poll ", FormatAddrPort(a.local()), ", ",
                                            FormatAddrPort(b.local()), ": ", ErrnoText(errno)));
  }
  // POLLERR (a pending ICMP error) also counts: the read clears it.
  *a_ready = pfds[0].revents != 0;
  *b_ready = pfds[1].revents != 0;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<size_t>> UdpSocket::ReceiveFrom(std::span<uint8_t> buf, AddrPort* from,
                                                             absl::Duration timeout) {
  pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
  int ready = poll(&pfd, 1, PollTimeoutMs(timeout));
  if (ready < 0) {
    if (errno == EINTR) {
      return std::optional<size_t>();
    }
    return absl::InternalError(
        absl::StrCat("poll ", FormatAddrPort(local_), ": ", ErrnoText(errno)));
  }
  if (ready == 0) {
    return std::optional<size_t>();
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ssize_t n = recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC,
                       reinterpret_cast<sockaddr*>(&ss), &len);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return std::optional<size_t>();
    }
    // ICMP errors (port unreachable from an earlier send) surface here on Linux; they say
    // nothing about this read, so report "nothing yet" rather than failing the session.
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
      return std::optional<size_t>();
    }
    return absl::InternalError(
        absl::StrCat("receive on ", FormatAddrPort(local_), ": ", ErrnoText(errno)));
  }
  absl::StatusOr<AddrPort> src = FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  if (!src.ok()) {
    return std::optional<size_t>();
  }
  src->ip = src->ip.Unmapped();
  *from = *src;
  return std::optional<size_t>(std::min(static_cast<size_t>(n), buf.size()));
}

}  // namespace dprelay::client
