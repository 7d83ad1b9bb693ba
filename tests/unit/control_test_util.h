// Helpers shared by the control unit tests: temp directories, an in-memory LamportStore and a
// fake dataplane on a unix SOCK_SEQPACKET socket.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "control/lamport_store.h"
#include "control/registry.h"
#include "gtest/gtest.h"
#include "proto/ipc.h"

namespace dprelay::control::testing {

// Distinct sorted key pairs without crypto (the registry and the link never look inside keys).
inline KeyPair Pair(int i) {
  KeyPair p;
  p[0].bytes[0] = 1;
  p[1].bytes[0] = 2;
  p[0].bytes[1] = p[1].bytes[1] = static_cast<uint8_t>(i);
  p[0].bytes[2] = p[1].bytes[2] = static_cast<uint8_t>(i >> 8);
  return p;
}

// A fresh directory under TEST_TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/dprelay_control.XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class MemoryLamportStore : public LamportStore {
 public:
  explicit MemoryLamportStore(uint64_t initial = 0) : value_(initial) {}
  uint64_t LoadLamport() const override { return value_; }
  absl::Status StoreLamport(uint64_t high_water) override {
    ++stores_;
    if (fail_) {
      return absl::DataLossError("disk full");
    }
    value_ = high_water;
    return absl::OkStatus();
  }

  uint64_t value() const { return value_; }
  int stores() const { return stores_; }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  uint64_t value_;
  int stores_ = 0;
  bool fail_ = false;
};

// Plays the dataplane: a listening SOCK_SEQPACKET socket and the accepted connection.
class FakeDataplane {
 public:
  explicit FakeDataplane(const std::string& path) : path_(path) {
    listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    EXPECT_EQ(listen(listen_fd_, 4), 0);
  }
  ~FakeDataplane() {
    CloseConn();
    close(listen_fd_);
    unlink(path_.c_str());
  }

  bool Accept() {
    pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 1000) != 1) {
      return false;
    }
    conn_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  bool HasPendingConnection() {
    pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) == 1;
  }
  void CloseConn() {
    if (conn_ >= 0) {
      close(conn_);
      conn_ = -1;
    }
  }
  void Send(const ipc::Message& msg) { SendRaw(ipc::Encode(msg)); }
  void SendRaw(const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(send(conn_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next message from control, or nullopt if none arrives within timeout_ms.
  std::optional<ipc::Message> Receive(int timeout_ms = 0) {
    pollfd p{.fd = conn_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, timeout_ms) != 1) {
      return std::nullopt;
    }
    std::vector<uint8_t> buf(ipc::kMaxMessageLen);
    ssize_t n = recv(conn_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) {
      return std::nullopt;
    }
    absl::StatusOr<ipc::Message> msg = ipc::Decode(std::span<const uint8_t>(buf.data(), n));
    EXPECT_TRUE(msg.ok()) << msg.status();
    return msg.ok() ? std::optional<ipc::Message>(*msg) : std::nullopt;
  }
  std::vector<ipc::InstallSession> ReceiveInstalls() {
    std::vector<ipc::InstallSession> out;
    while (std::optional<ipc::Message> m = Receive()) {
      if (std::holds_alternative<ipc::Advertised>(*m)) {
        continue;  // sent with every sync (SetAdvertised); its own test reads it
      }
      const auto* in = std::get_if<ipc::InstallSession>(&*m);
      EXPECT_NE(in, nullptr) << "message index " << m->index();
      if (in != nullptr) {
        out.push_back(*in);
      }
    }
    return out;
  }

 private:
  std::string path_;
  int listen_fd_ = -1;
  int conn_ = -1;
};

}  // namespace dprelay::control::testing
