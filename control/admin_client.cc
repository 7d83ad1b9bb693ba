#include "control/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/unique_fd.h"
#include "net/unix_socket.h"

namespace dprelay::control {
namespace {

absl::Status ConnectError(const std::string& path, int err) {
  switch (err) {
    case ENOENT:
      return absl::UnavailableError(absl::StrCat(
          "cannot reach dprelay-control at ", path,
          ": no such socket (is dprelay-control running? is --socket its --admin_socket?)"));
    case ECONNREFUSED:
      return absl::UnavailableError(
          absl::StrCat("cannot reach dprelay-control at ", path,
                       ": connection refused (dprelay-control is not running)"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat("cannot reach dprelay-control at ", path,
                       ": permission denied (run as root, as dprelay-control's user or, if it "
                       "has an --admin_group, as a member of that group)"));
    default:
      return absl::UnavailableError(
          absl::StrCat("cannot reach dprelay-control at ", path, ": ", std::strerror(err)));
  }
}

}  // namespace

absl::StatusOr<std::string> CallAdmin(const std::string& path, const AdminRequest& request,
                                      absl::Duration timeout) {
  absl::StatusOr<sockaddr_un> sa = net::UnixAddress(path, absl::StrCat("--socket=", path));
  if (!sa.ok()) {
    return sa.status();
  }
  net::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  }
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return ConnectError(path, errno);
  }
  const std::string line = FormatAdminRequest(request);
  if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return absl::UnavailableError(absl::StrCat(path, ": send: ", std::strerror(errno)));
  }
  std::string response;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[65536];
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
    if (left_ms <= 0 || poll(&p, 1, static_cast<int>(left_ms)) == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "dprelay-control at ", path, " did not answer within ", absl::FormatDuration(timeout)));
    }
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat(path, ": recv: ", std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  if (response.empty()) {
    return absl::UnavailableError(
        absl::StrCat("dprelay-control at ", path, " closed the connection without answering"));
  }
  return ParseAdminResponse(response);
}

}  // namespace dprelay::control
