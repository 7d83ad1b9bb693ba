// A minimal relay and control process for client tests, on 127.0.0.1 kernel sockets with
// real crypto: answers allocation requests, answers Binds with Challenges and checks that
// Answers echo them, and forwards data between two bound legs. It implements just enough of
// PROTOCOL.md §4 to exercise the client; it is not a reference for the relay.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "client/udp_socket.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/key.h"

namespace dprelay::client::testing {

struct FakeRelayOptions {
  uint32_t vni = 7;
  uint64_t lamport_id = 1;
  // Allocation requests to ignore before answering (to exercise the client's resend).
  int drop_allocation_requests = 0;
  bool answer_allocations = true;
  // Send a response with the wrong generation first (the client must ignore it).
  bool send_wrong_generation_first = false;
  bool answer_binds = true;
  // Flip one payload byte of the Nth forwarded 0x7A12 packet (1-based; 0 = never).
  uint64_t corrupt_nth_data = 0;
  // Extra advertised addresses placed before the real one (e.g. unreachable ones).
  std::vector<AddrPort> extra_addrs;
};

struct FakeRelayCounters {
  std::atomic<uint64_t> allocation_requests{0};
  // Requests whose nonce an earlier request had: a real relay refuses them as replays.
  std::atomic<uint64_t> allocation_nonce_reuses{0};
  std::atomic<uint64_t> allocation_responses{0};
  std::atomic<uint64_t> binds{0};
  std::atomic<uint64_t> challenges{0};
  std::atomic<uint64_t> answers_matched{0};  // echoed the challenge, right source
  std::atomic<uint64_t> answers_mismatched{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> dropped_unbound{0};  // data from a source that is not a bound leg
  std::atomic<uint64_t> dropped_other{0};
};

class FakeRelay {
 public:
  explicit FakeRelay(FakeRelayOptions options = {});
  ~FakeRelay();  // stops the thread

  const AddrPort& control_addr() const { return control_addr_; }
  const AddrPort& relay_addr() const { return relay_addr_; }
  const DiscoKey& control_key() const { return control_keys_.pub; }
  const DiscoKey& server_key() const { return server_keys_.pub; }
  const FakeRelayCounters& counters() const { return counters_; }
  // The bound address of the leg whose key is `client`, if bound.
  std::optional<AddrPort> BoundAddr(const DiscoKey& client) const;
  // The endpoint is gone (expired, or the relay restarted) and control hands out another:
  // from now on allocations answer `vni` and `lamport_id`, packets for the old VNI are
  // dropped, and both legs must bind again.
  void ReplaceEndpoint(uint32_t vni, uint64_t lamport_id);

 private:
  struct Leg {
    DiscoKey key;
    SharedKey shared;
    uint32_t generation = 0;  // in progress, 0 = none
    Challenge challenge{};
    AddrPort challenged;  // the source the Challenge went to
    std::optional<AddrPort> bound;
  };

  void Loop();
  void HandleControl(std::span<const uint8_t> pkt, const AddrPort& from);
  void HandleRelay(std::span<const uint8_t> pkt, const AddrPort& from);
  void HandleHandshake(std::span<const uint8_t> body, const AddrPort& from);

  const FakeRelayOptions options_;
  const DiscoKeyPair control_keys_;
  const DiscoKeyPair server_keys_;
  UdpSocket control_socket_;
  UdpSocket relay_socket_;
  AddrPort control_addr_;
  AddrPort relay_addr_;
  FakeRelayCounters counters_;

  mutable std::mutex mu_;
  std::optional<std::array<Leg, 2>> legs_;  // set by the first allocation; guarded by mu_
  uint32_t vni_;                            // the current endpoint's; guarded by mu_
  uint64_t lamport_id_;                     // guarded by mu_
  int dropped_requests_ = 0;
  std::set<DiscoNonce> allocation_nonces_;  // guarded by mu_
  uint64_t data_seen_ = 0;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace dprelay::client::testing
