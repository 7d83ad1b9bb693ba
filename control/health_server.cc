#include "control/health_server.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "net/tcp_listener.h"

namespace dprelay::control {
namespace {

// Connections waiting for accept; what overflows is retried by the client's TCP.
constexpr int kListenBacklog = 64;

std::string Response(int code, const std::string& status, const std::string& body, bool head) {
  return absl::StrCat(
      "HTTP/1.1 ", code, " ", status,
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", head ? std::string() : body);
}

}  // namespace

std::string HealthHttpResponse(std::string_view request_head, const HealthVerdict& verdict) {
  const std::string_view line = request_head.substr(0, request_head.find("\r\n"));
  // Request-Line = Method SP Request-URI SP HTTP-Version (RFC 9112 §3).
  std::vector<std::string_view> parts;
  for (size_t start = 0; parts.size() < 4;) {
    const size_t sp = line.find(' ', start);
    parts.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) {
      break;
    }
    start = sp + 1;
  }
  if (parts.size() != 3 || (parts[2] != "HTTP/1.0" && parts[2] != "HTTP/1.1")) {
    return Response(400, "Bad Request", "bad request\n", false);
  }
  const std::string_view method = parts[0];
  std::string_view path = parts[1];
  path = path.substr(0, path.find('?'));  // checkers may add a cache-buster
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return Response(405, "Method Not Allowed", "GET or HEAD\n", false);
  }
  if (path != "/healthz") {
    return Response(404, "Not Found", "not found (try /healthz)\n", head);
  }
  if (verdict.healthy) {
    return Response(200, "OK", "ok\n", head);
  }
  return Response(503, "Service Unavailable", verdict.reason + "\n", head);
}

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Listen(const AddrPort& addr,
                                                                   Probe probe) {
  absl::StatusOr<net::TcpListener> listener =
      net::ListenTcp(addr, kListenBacklog, absl::StrCat("--health_listen=", FormatAddrPort(addr)));
  if (!listener.ok()) {
    return listener.status();
  }
  auto handler = [probe = std::move(probe)](const net::StreamServer::Request& request,
                                            net::StreamServer::Reply reply) {
    reply(request.too_long ? HealthHttpResponse("", HealthVerdict{})
                           : HealthHttpResponse(request.text, probe()));
  };
  auto server = std::make_unique<net::StreamServer>(std::move(listener->fd),
                                                    net::StreamServerConfig{
                                                        .terminator = "\r\n\r\n",
                                                        .max_request_len = kMaxRequestHead,
                                                        .header_timeout = kHeaderTimeout,
                                                        .max_connections = kMaxConnections,
                                                        .max_per_source = kMaxPerSource,
                                                    },
                                                    net::SourceByAddress, std::move(handler));
  return std::unique_ptr<HealthServer>(new HealthServer(listener->port, std::move(server)));
}

}  // namespace dprelay::control
