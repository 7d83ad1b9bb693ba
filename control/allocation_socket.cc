#include "control/allocation_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace dprelay::control {
namespace {

// Room for the one control message either way: in_pktinfo received or sent on an IPv4 socket,
// in6_pktinfo on an IPv6 one.
constexpr size_t kControlLen = CMSG_SPACE(std::max(sizeof(in_pktinfo), sizeof(in6_pktinfo)));

std::string ErrnoText(int err) { return std::strerror(err); }

bool IsWildcard(const IpAddr& ip) {
  return std::all_of(ip.bytes.begin(), ip.bytes.end(), [](uint8_t b) { return b == 0; });
}

// Only a unicast address can be a reply's source: not 0.0.0.0, ::, multicast (224/4, ff00::/8)
// or the limited broadcast (in 240/4), v4-mapped or not.
bool IsUnicast(const IpAddr& ip) {
  const IpAddr a = ip.Unmapped();
  if (!a.valid() || IsWildcard(a)) {
    return false;
  }
  return a.is_v4() ? a.bytes[0] < 224 : a.bytes[0] != 0xff;
}

// Asks the kernel to report each datagram's destination (a control message per datagram).
absl::Status ReportDestinations(int fd, int family, const std::string& name) {
  const int on = 1;
  const bool v4 = family == AF_INET;
  if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_PKTINFO : IPV6_RECVPKTINFO, &on,
                 sizeof(on)) != 0) {
    return absl::InternalError(absl::StrCat(
        name, ": setsockopt ", v4 ? "IP_PKTINFO" : "IPV6_RECVPKTINFO", ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<AddrPort> BoundAddress(int fd, const std::string& name) {
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    return absl::InternalError(absl::StrCat(name, ": getsockname: ", ErrnoText(errno)));
  }
  return FromSockaddr(reinterpret_cast<const sockaddr*>(&local), local_len);
}

// Binds fd to listen; for a wildcard address also asks for destinations. Returns the bound
// address.
absl::StatusOr<AddrPort> Configure(int fd, int family, const AddrPort& listen,
                                   const std::string& name) {
  if (family == AF_INET6) {
    // [::] also takes IPv4 requests, whatever net.ipv6.bindv6only says.
    const int off = 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0) {
      return absl::InternalError(
          absl::StrCat(name, ": setsockopt IPV6_V6ONLY off: ", ErrnoText(errno)));
    }
  }
  if (IsWildcard(listen.ip)) {
    if (absl::Status s = ReportDestinations(fd, family, name); !s.ok()) {
      return s;
    }
  }
  sockaddr_storage ss{};
  const socklen_t len = ToSockaddr(listen, &ss);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": bind: ", ErrnoText(errno)));
  }
  return BoundAddress(fd, name);
}

// The reply source a received datagram's control messages give: IPv4's ipi_spec_dst (the
// destination, or for a broadcast the address the kernel answers from), IPv6's ipi6_addr (the
// destination; v4-mapped for IPv4 on a dual-stack socket). Invalid if none or not unicast.
IpAddr ReplySource(msghdr* msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    IpAddr found;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      found = IpAddr::V4FromBe(info.ipi_spec_dst.s_addr);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      found = IpAddr::V6(info.ipi6_addr.s6_addr);
    } else {
      continue;
    }
    return IsUnicast(found) ? found : IpAddr{};
  }
  return IpAddr{};
}

// Makes `from` the source of the datagram msg sends, as its one control message (the buffer
// msg points at has kControlLen bytes). The interface index stays 0: routing chooses the way out.
void SetReplySource(const IpAddr& from, msghdr* msg) {
  msg->msg_controllen = kControlLen;
  cmsghdr* c = CMSG_FIRSTHDR(msg);
  if (from.is_v4()) {
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = from.v4_be();
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(info));
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    msg->msg_controllen = CMSG_SPACE(sizeof(info));
    return;
  }
  in6_pktinfo info{};
  std::memcpy(info.ipi6_addr.s6_addr, from.bytes.data(), sizeof(info.ipi6_addr.s6_addr));
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(info));
  std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  msg->msg_controllen = CMSG_SPACE(sizeof(info));
}

std::string PeerText(const AllocationSocket::Datagram& d) {
  absl::StatusOr<AddrPort> peer =
      FromSockaddr(reinterpret_cast<const sockaddr*>(&d.peer), d.peer_len);
  return peer.ok() ? FormatAddrPort(*peer) : "(unknown peer)";
}

}  // namespace

absl::StatusOr<std::unique_ptr<AllocationSocket>> AllocationSocket::Open(const AddrPort& listen) {
  const std::string name = absl::StrCat("listen ", FormatAddrPort(listen));
  const int family = listen.ip.is_v4() ? AF_INET : AF_INET6;
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat(name, ": socket: ", ErrnoText(errno)));
  }
  absl::StatusOr<AddrPort> bound = Configure(fd, family, listen, name);
  if (!bound.ok()) {
    close(fd);
    return bound.status();
  }
  return std::unique_ptr<AllocationSocket>(new AllocationSocket(fd, *bound, IsWildcard(listen.ip)));
}

AllocationSocket::AllocationSocket(int fd, AddrPort local_addr, bool reports_destination)
    : fd_(fd), local_addr_(local_addr), reports_destination_(reports_destination) {}

AllocationSocket::~AllocationSocket() { close(fd_); }

absl::StatusOr<std::optional<AllocationSocket::Datagram>> AllocationSocket::Receive(
    std::span<uint8_t> buf) {
  Datagram d;
  iovec iov{.iov_base = buf.data(), .iov_len = buf.size()};
  alignas(cmsghdr) std::array<uint8_t, kControlLen> control{};
  msghdr msg{};
  msg.msg_name = &d.peer;
  msg.msg_namelen = sizeof(d.peer);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n = 0;
  do {
    n = recvmsg(fd_, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return std::nullopt;
    }
    return absl::UnavailableError(absl::StrCat("allocation socket ", FormatAddrPort(local_addr_),
                                               ": recvmsg: ", ErrnoText(errno)));
  }
  d.size = static_cast<size_t>(n);
  d.peer_len = msg.msg_namelen;
  d.reply_from = ReplySource(&msg);
  return d;
}

absl::Status AllocationSocket::Reply(const Datagram& request, std::span<const uint8_t> bytes) {
  iovec iov{.iov_base = const_cast<uint8_t*>(bytes.data()), .iov_len = bytes.size()};
  alignas(cmsghdr) std::array<uint8_t, kControlLen> control{};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_storage*>(&request.peer);
  msg.msg_namelen = request.peer_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (request.reply_from.valid()) {
    msg.msg_control = control.data();
    SetReplySource(request.reply_from, &msg);
  }
  if (sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    const int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "allocation reply to ", PeerText(request), " from ",
        request.reply_from.valid() ? FormatIp(request.reply_from) : FormatAddrPort(local_addr_),
        ": sendmsg: ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

}  // namespace dprelay::control
