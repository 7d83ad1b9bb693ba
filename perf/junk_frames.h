// Junk an attacker sends a relay, as frames towards the benchmark relay (perf/ring_relay.h):
// what the main lcore must reject or answer within its limits while legitimate clients bind.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/disco_box.h"

namespace dprelay::perf {

enum class JunkClass {
  kControlOpen,     // control packets naming one session's VNI and client key (a tenant
                    // flooding its own session, or someone who saw the client's key): each
                    // costs a failed box open while the main lcore keeps up
  kControlOpenAll,  // the same spread over every session (someone who saw every client's key)
  kControlUnknown,  // control packet for a VNI no session has: rejected before crypto
  kArp,             // ARP requests for the relay's address from spoofed senders (answered)
  kIcmp,            // ICMP echo requests to the relay's address from spoofed sources (answered)
};

std::optional<JunkClass> ParseJunkClass(std::string_view name);
const char* JunkClassName(JunkClass c);

struct JunkTarget {
  uint32_t relay_ip_be = 0;
  uint16_t relay_port_be = 0;
  uint8_t relay_mac[6] = {};
  uint32_t sessions = 0;  // VNIs 1..sessions exist (kControlOpenAll names them in turn)
  uint32_t vni = 0;       // the session kControlOpen names
  DiscoKey client_key;    // a key the sessions' legs belong to (kControlOpen)
};

// `count` distinct frames of one class (sources, VNIs and bytes vary from frame to frame).
std::vector<std::vector<uint8_t>> MakeJunk(JunkClass c, const JunkTarget& target, size_t count);

}  // namespace dprelay::perf
