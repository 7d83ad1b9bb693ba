#include "net/stream_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace dprelay::net {
namespace {

// Bytes read per recv(); requests are a few hundred bytes.
constexpr size_t kReadChunk = 1024;

}  // namespace

StreamServer::StreamServer(UniqueFd listen_fd, StreamServerConfig config, Handler handler)
    : listen_fd_(std::move(listen_fd)),
      config_(std::move(config)),
      handler_(std::move(handler)),
      self_(std::make_shared<StreamServer*>(this)) {}

StreamServer::~StreamServer() = default;

void StreamServer::AppendPollFds(std::vector<pollfd>* fds) {
  fds->push_back({.fd = listen_fd_.get(), .events = POLLIN, .revents = 0});
  polled_.clear();
  for (const auto& [id, conn] : conns_) {
    // Waiting for the handler: poll nothing, but POLLHUP/POLLERR still report a client gone.
    const short events = !conn.out.empty() ? POLLOUT : conn.requested ? 0 : POLLIN;
    fds->push_back({.fd = conn.fd.get(), .events = events, .revents = 0});
    polled_.push_back(id);
  }
}

void StreamServer::OnEvents(const std::vector<pollfd>& fds, size_t first, absl::Time now) {
  // Handlers and replies may close connections while we go: look each one up again.
  const std::vector<uint64_t> polled = polled_;
  for (size_t i = 0; i < polled.size() && first + 1 + i < fds.size(); ++i) {
    const short revents = fds[first + 1 + i].revents;
    auto it = conns_.find(polled[i]);
    if (revents == 0 || it == conns_.end()) {
      continue;
    }
    const Conn& conn = it->second;
    if (!conn.requested) {
      Read(polled[i]);
    } else if (!conn.out.empty()) {
      Write(polled[i]);  // a failed send (the client went away) closes it
    } else if ((revents & (POLLHUP | POLLERR)) != 0) {
      Close(polled[i]);  // gone while the handler works; its late reply finds nothing
    }
  }
  if (first < fds.size() && (fds[first].revents & POLLIN) != 0) {
    Accept(now);
  }
}

void StreamServer::Accept(absl::Time now) {
  while (true) {
    UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      return;  // EAGAIN, or a connection aborted before we got to it
    }
    if (conns_.size() >= config_.max_connections) {
      Refuse(std::move(fd));
      continue;
    }
    conns_.emplace(next_id_++, Conn{.fd = std::move(fd), .accepted_at = now});
  }
}

void StreamServer::Refuse(UniqueFd fd) {
  if (!config_.busy_response.empty()) {
    send(fd.get(), config_.busy_response.data(), config_.busy_response.size(),
         MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

void StreamServer::Read(uint64_t id) {
  Conn& conn = conns_.at(id);
  bool eof = false;
  char buf[kReadChunk];
  while (conn.in.size() <= config_.max_request_len + config_.terminator.size()) {
    const ssize_t n = recv(conn.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      conn.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    break;
  }
  const size_t end = conn.in.find(config_.terminator);
  Request request;
  if (end != std::string::npos && end <= config_.max_request_len) {
    request.text = std::string_view(conn.in).substr(0, end);
  } else if (end != std::string::npos || conn.in.size() > config_.max_request_len) {
    request.too_long = true;
  } else {
    if (eof) {
      Close(id);  // gone before a complete request (a TCP-only health check does this)
    }
    return;  // wait for the rest
  }
  conn.requested = true;
  std::weak_ptr<StreamServer*> weak = self_;
  // The handler may reply at once, which writes and closes: `conn` is not used after this.
  handler_(request, [weak, id](std::string bytes) {
    if (std::shared_ptr<StreamServer*> self = weak.lock()) {
      (*self)->Respond(id, std::move(bytes));
    }
  });
}

void StreamServer::Respond(uint64_t id, std::string bytes) {
  auto it = conns_.find(id);
  if (it == conns_.end()) {
    return;  // the client went away meanwhile
  }
  it->second.out = std::move(bytes);
  Write(id);
}

void StreamServer::Write(uint64_t id) {
  Conn& conn = conns_.at(id);
  while (!conn.out.empty()) {
    const ssize_t n =
        send(conn.fd.get(), conn.out.data(), conn.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      conn.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;  // AppendPollFds asks for POLLOUT
    }
    break;  // the client went away
  }
  Close(id);  // one request per connection: EOF ends the response
}

void StreamServer::Close(uint64_t id) { conns_.erase(id); }

void StreamServer::ExpireIdle(absl::Time now) {
  std::vector<uint64_t> late;
  for (const auto& [id, conn] : conns_) {
    if (!conn.requested && now - conn.accepted_at > config_.request_timeout) {
      late.push_back(id);
    }
  }
  for (uint64_t id : late) {
    Close(id);
  }
}

}  // namespace dprelay::net
