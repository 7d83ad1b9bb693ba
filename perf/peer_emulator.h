// The benchmark's peer emulator: plays both clients of K sessions towards a relay port over
// rte_rings. It binds every leg through the real handshake (or installs legs pre-bound, the
// path control uses after a dataplane restart), then keeps a closed loop of valid data.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/main_lcore.h"
#include "dataplane/worker.h"
#include "proto/disco.h"
#include "proto/disco_box.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace dprelay::perf {

struct EmulatorConfig {
  uint32_t sessions = 1000;
  uint32_t payload = 86;     // UDP payload bytes (Geneve header included)
  uint32_t inflight = 512;   // packets kept in the loop
  uint32_t relay_ip_be = 0;  // relay address
  uint16_t relay_port_be = 0;
  uint8_t relay_mac[6] = {};
  uint32_t gateway_ip_be = 0;  // every emulated client sits behind this next hop
};

class PeerEmulator {
 public:
  PeerEmulator(const EmulatorConfig& config, rte_ring* to_relay, rte_ring* from_relay,
               rte_mempool* pool);

  // A gratuitous ARP from the gateway, so the relay can resolve its next hop.
  void AnnounceGateway();
  // Installs every session in `main` as control would, and binds both legs: through Bind,
  // Challenge and Answer packets when handshake is set, else as pre-bound legs.
  // `pump` runs the relay (worker and main lcore) until the queued packets are handled.
  bool BindAll(MainLcore& main, bool handshake, const std::function<void()>& pump);
  // The pieces of BindAll, for drivers that run the relay on another lcore:
  // installs sessions first..last (legs unbound for a handshake, else pre-bound);
  bool Install(MainLcore& main, uint32_t first, uint32_t last, bool handshake);
  // sends a leg's Bind (or Answer, with the challenge) towards the relay;
  bool SendBindMessage(uint32_t vni, int leg, DiscoType type, const Challenge& challenge);
  // and reads a packet from the relay: true when it is a Challenge to one of our legs.
  bool ReadChallenge(const rte_mbuf* m, uint32_t* vni, int* leg, Challenge* challenge) const;
  // Fills the loop with `inflight` data packets of random sessions.
  bool Prime();
  // Receives what the relay forwarded and answers each with a data packet of a random
  // session (uniform over all of them). Returns packets received.
  uint32_t Step();
  // Heap bytes of the emulator's per-session packet templates (not the relay's memory).
  size_t TemplateBytes() const { return templates_.capacity() * sizeof(LegTemplate); }
  // Builds the data templates for another payload size (after BindAll).
  void SetPayload(uint32_t payload);

  uint64_t received() const { return received_; }
  const DiscoKey& client_key(int leg) const { return keys_[leg].pub; }
  uint64_t unexpected() const { return unexpected_; }

 private:
  struct LegTemplate {
    uint8_t bytes[50];  // Ethernet + IPv4 + UDP (checksummed) + Geneve towards the relay
  };
  uint32_t ClientIp(uint32_t vni, int leg) const;
  uint16_t ClientPort(int leg) const { return static_cast<uint16_t>(10000 + leg); }
  void BuildTemplates();
  void Fill(rte_mbuf* m);
  ipc::InstallSession InstallTemplate() const;
  std::vector<uint8_t> Frame(uint32_t vni, int leg, const uint8_t* payload, size_t len) const;

  EmulatorConfig config_;
  rte_ring* to_relay_;
  rte_ring* from_relay_;
  rte_mempool* pool_;
  DiscoKeyPair keys_[2];
  DiscoKeyPair server_;
  SharedKey client_shared_[2];          // client i with the server
  std::vector<LegTemplate> templates_;  // [vni * 2 + leg]
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  int next_leg_ = 0;
  size_t next_template_ = 2;  // vni 1, leg 0
  uint64_t received_ = 0;
  uint64_t unexpected_ = 0;
};

}  // namespace dprelay::perf
