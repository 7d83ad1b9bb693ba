// The dataplane's end of the control IPC (DESIGN.md §5): a non-blocking unix SOCK_SEQPACKET
// listener polled from the main lcore. One control connection at a time; a new one replaces
// the old. If control goes away the dataplane keeps forwarding and waits for it to return.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/ipc.h"

namespace dprelay {

class IpcServer {
 public:
  // Creates the socket file (its directory too), replacing a stale one. Error names the path.
  static absl::StatusOr<std::unique_ptr<IpcServer>> Listen(const std::string& path);
  ~IpcServer();
  IpcServer(const IpcServer&) = delete;
  IpcServer& operator=(const IpcServer&) = delete;

  // Accepts a waiting connection (on_connect runs, e.g. to send Hello) and hands every
  // decodable pending message to on_message. Never blocks.
  void Poll(const std::function<void()>& on_connect,
            const std::function<void(ipc::Message&&)>& on_message);
  // Sends to the connected control process; silently nothing when none is connected (it
  // resynchronises when it connects).
  void Send(const ipc::Message& msg);
  bool connected() const { return conn_fd_ >= 0; }
  uint64_t bad_messages() const { return bad_messages_; }

 private:
  IpcServer(int listen_fd, std::string path) : listen_fd_(listen_fd), path_(std::move(path)) {}
  void CloseConnection();

  int listen_fd_;
  int conn_fd_ = -1;
  std::string path_;
  uint64_t bad_messages_ = 0;
};

}  // namespace dprelay
