#include "control/admin_server.h"

#include <sys/socket.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dprelay::control {
namespace {

// Connections waiting for accept.
constexpr int kListenBacklog = 16;

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Listen(
    const std::string& path, Handler handler, const std::optional<AdminGroup>& group) {
  absl::StatusOr<net::UnixListener> listener =
      net::ListenUnix(path, SOCK_STREAM, kListenBacklog, absl::StrCat("--admin_socket=", path),
                      group.has_value() ? std::optional<gid_t>(group->gid) : std::nullopt);
  if (!listener.ok()) {
    return listener.status();
  }
  auto on_request = [handler = std::move(handler), with_groups = group.has_value()](
                        const net::StreamServer::Request& request, net::StreamServer::Reply reply) {
    if (request.too_long) {
      reply(FormatAdminResponse(absl::InvalidArgumentError("request line too long")));
      return;
    }
    absl::StatusOr<AdminRequest> parsed = ParseAdminRequest(request.text);
    if (!parsed.ok()) {
      reply(FormatAdminResponse(parsed.status()));
      return;
    }
    absl::StatusOr<AdminCaller> caller = AdminCallerOf(request.fd, with_groups);
    if (!caller.ok()) {
      reply(FormatAdminResponse(absl::PermissionDeniedError(
          absl::StrCat("cannot tell who is asking: ", caller.status().message()))));
      return;
    }
    handler(*parsed, *caller, [reply = std::move(reply)](const absl::StatusOr<std::string>& body) {
      reply(FormatAdminResponse(body));
    });
  };
  auto server = std::make_unique<net::StreamServer>(
      std::move(listener->fd),
      net::StreamServerConfig{
          .terminator = "\n",
          .max_request_len = kMaxAdminRequestLen,
          .header_timeout = kHeaderTimeout,
          .max_connections = kMaxConnections,
          .max_per_source = kMaxPerUid,
          .busy_response =
              FormatAdminResponse(absl::ResourceExhaustedError("too many admin clients")),
      },
      net::SourceByUid, std::move(on_request));
  return std::unique_ptr<AdminServer>(
      new AdminServer(std::move(listener->file), std::move(server)));
}

}  // namespace dprelay::control
