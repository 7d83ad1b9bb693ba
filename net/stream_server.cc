#include "net/stream_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "net/peer_cred.h"
#include "proto/addr.h"

namespace dprelay::net {
namespace {

// Bytes read per recv(); requests are a few hundred bytes.
constexpr size_t kReadChunk = 1024;

}  // namespace

std::string SourceByAddress(int /*fd*/, const sockaddr_storage& peer, socklen_t len) {
  absl::StatusOr<AddrPort> addr = FromSockaddr(reinterpret_cast<const sockaddr*>(&peer), len);
  if (!addr.ok()) {
    return "";
  }
  IpAddr ip = addr->ip.Unmapped();
  if (ip.is_v6()) {
    std::fill(ip.bytes.begin() + 8, ip.bytes.end(), 0);
    return absl::StrCat(FormatIp(ip), "/64");
  }
  return FormatIp(ip);
}

std::string SourceByUid(int fd, const sockaddr_storage& /*peer*/, socklen_t /*len*/) {
  absl::StatusOr<PeerCred> cred = GetPeerCred(fd);
  return cred.ok() ? absl::StrCat("uid ", cred->uid) : "";
}

StreamServer::StreamServer(UniqueFd listen_fd, StreamServerConfig config, SourceFn source,
                           Handler handler)
    : listen_fd_(std::move(listen_fd)),
      config_(std::move(config)),
      source_(std::move(source)),
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
  // At most a server's worth per wake-up, so a connection flood cannot hold the loop: the
  // rest wait in the backlog for the next poll.
  for (size_t i = 0; i < config_.max_connections; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    UniqueFd fd(accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      return;  // EAGAIN, or a connection aborted before we got to it
    }
    std::string source = source_(fd.get(), peer, peer_len);
    if (source.empty()) {
      Refuse(std::move(fd), StreamCounter::kNoSource);
      continue;
    }
    if (std::optional<StreamCounter> refused = Admit(source); refused.has_value()) {
      Refuse(std::move(fd), *refused);
      continue;
    }
    ++per_source_[source];
    Count(StreamCounter::kAccepted);
    conns_.emplace(next_id_++,
                   Conn{.fd = std::move(fd), .source = std::move(source), .accepted_at = now});
  }
}

std::optional<StreamCounter> StreamServer::Admit(const std::string& source) {
  auto mine = per_source_.find(source);
  const size_t held = mine == per_source_.end() ? 0 : mine->second;
  if (held >= config_.max_per_source) {
    return StreamCounter::kRefusedSourceCap;
  }
  if (conns_.size() < config_.max_connections) {
    return std::nullopt;
  }
  const auto top =
      std::max_element(per_source_.begin(), per_source_.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  if (top == per_source_.end() || top->second <= held) {
    return StreamCounter::kRefusedTotalCap;  // every source holds as many as the newcomer
  }
  // conns_ iterates oldest first.
  for (const auto& [id, conn] : conns_) {
    if (conn.source == top->first) {
      Close(id);
      Count(StreamCounter::kEvicted);
      break;
    }
  }
  return std::nullopt;
}

void StreamServer::Refuse(UniqueFd fd, StreamCounter why) {
  Count(why);
  if (!config_.busy_response.empty()) {
    send(fd.get(), config_.busy_response.data(), config_.busy_response.size(),
         MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

size_t StreamServer::connections_from(const std::string& source) const {
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
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
    Count(StreamCounter::kTooLong);
  } else {
    if (eof) {
      Close(id);  // gone before a complete request (a TCP-only health check does this)
    }
    return;  // wait for the rest
  }
  conn.requested = true;
  request.fd = conn.fd.get();
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

void StreamServer::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) {
    return;
  }
  auto held = per_source_.find(it->second.source);
  if (held != per_source_.end() && --held->second == 0) {
    per_source_.erase(held);
  }
  conns_.erase(it);
}

void StreamServer::ExpireIdle(absl::Time now) {
  std::vector<uint64_t> late;
  for (const auto& [id, conn] : conns_) {
    if (!conn.requested && now - conn.accepted_at > config_.header_timeout) {
      late.push_back(id);
    }
  }
  for (uint64_t id : late) {
    Close(id);
    Count(StreamCounter::kHeaderTimeout);
  }
}

}  // namespace dprelay::net
