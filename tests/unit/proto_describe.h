// Canonical text forms of decoded messages, so tests compare every field with one EXPECT_EQ
// and print a readable diff when they differ.
#pragma once

#include <sstream>
#include <string>
#include <type_traits>
#include <variant>

#include "absl/time/time.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay::testing {

inline std::string Hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += kDigits[x >> 4];
    s += kDigits[x & 0xf];
  }
  return s;
}

inline std::string Describe(const AddrPort& ap) {
  std::ostringstream o;
  o << static_cast<int>(ap.ip.family) << "/" << Hex(ap.ip.bytes) << "/" << ap.port;
  return o.str();
}

inline std::string Describe(const UdpRelayEndpoint& e) {
  std::ostringstream o;
  o << "server=" << Hex(e.server_disco.bytes) << " c0=" << Hex(e.client_disco[0].bytes)
    << " c1=" << Hex(e.client_disco[1].bytes) << " lamport=" << e.lamport_id << " vni=" << e.vni
    << " bind=" << absl::ToInt64Nanoseconds(e.bind_lifetime)
    << "ns steady=" << absl::ToInt64Nanoseconds(e.steady_state_lifetime) << "ns addrs=[";
  for (const AddrPort& ap : e.addr_ports) {
    o << Describe(ap) << ",";
  }
  o << "]";
  return o.str();
}

inline std::string DescribeBind(const char* name, const BindCommon& m) {
  std::ostringstream o;
  o << name << " vni=" << m.vni << " gen=" << m.generation << " remote=" << Hex(m.remote_key.bytes)
    << " challenge=" << Hex(m.challenge);
  return o.str();
}

inline std::string Describe(const DiscoMessage& msg) {
  std::ostringstream o;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Ping>) {
          o << "Ping tx=" << Hex(m.tx_id)
            << " node_key=" << (m.node_key ? Hex(m.node_key->bytes) : "none")
            << " padding=" << m.padding;
        } else if constexpr (std::is_same_v<T, Pong>) {
          o << "Pong tx=" << Hex(m.tx_id) << " src=" << Describe(m.src);
        } else if constexpr (std::is_same_v<T, CallMeMaybe>) {
          o << "CallMeMaybe [";
          for (const AddrPort& ap : m.my_numbers) {
            o << Describe(ap) << ",";
          }
          o << "]";
        } else if constexpr (std::is_same_v<T, BindUdpRelayEndpoint>) {
          o << DescribeBind("Bind", m);
        } else if constexpr (std::is_same_v<T, BindUdpRelayEndpointChallenge>) {
          o << DescribeBind("Challenge", m);
        } else if constexpr (std::is_same_v<T, BindUdpRelayEndpointAnswer>) {
          o << DescribeBind("Answer", m);
        } else if constexpr (std::is_same_v<T, CallMeMaybeVia>) {
          o << "CallMeMaybeVia " << Describe(m.endpoint);
        } else if constexpr (std::is_same_v<T, AllocateUdpRelayEndpointRequest>) {
          o << "AllocateRequest c0=" << Hex(m.client_disco[0].bytes)
            << " c1=" << Hex(m.client_disco[1].bytes) << " gen=" << m.generation;
        } else {
          static_assert(std::is_same_v<T, AllocateUdpRelayEndpointResponse>);
          o << "AllocateResponse gen=" << m.generation << " " << Describe(m.endpoint);
        }
      },
      msg);
  return o.str();
}

inline std::string Describe(const ipc::Message& msg) {
  std::ostringstream o;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ipc::Hello>) {
          o << "Hello capacity=" << m.capacity << " addrs=[";
          for (const AddrPort& ap : m.relay_addrs) {
            o << Describe(ap) << ",";
          }
          o << "]";
        } else if constexpr (std::is_same_v<T, ipc::InstallSession>) {
          o << "InstallSession vni=" << m.vni << " c0=" << Hex(m.client_keys[0].bytes)
            << " c1=" << Hex(m.client_keys[1].bytes) << " s0=" << Hex(m.shared[0].bytes)
            << " s1=" << Hex(m.shared[1].bytes) << " server=" << Hex(m.server_key.bytes)
            << " bind=" << m.bind_lifetime_ns << " steady=" << m.steady_state_lifetime_ns
            << " b0=" << Describe(m.bound[0]) << " b1=" << Describe(m.bound[1])
            << " lamport=" << m.lamport_id << " at=" << m.allocated_at_unix_ns;
        } else if constexpr (std::is_same_v<T, ipc::DumpRequest>) {
          o << "DumpRequest id=" << m.request_id << " from=" << m.from_vni;
        } else if constexpr (std::is_same_v<T, ipc::Advertised>) {
          o << "Advertised addrs=[";
          for (const AddrPort& ap : m.addrs) {
            o << Describe(ap) << ",";
          }
          o << "]";
        } else if constexpr (std::is_same_v<T, ipc::DumpReply>) {
          o << "DumpReply id=" << m.request_id << " next=" << m.next_vni << " [";
          for (const ipc::SessionRecord& r : m.sessions) {
            o << "{vni=" << r.vni << " c0=" << Hex(r.client_keys[0].bytes)
              << " c1=" << Hex(r.client_keys[1].bytes) << " b0=" << Describe(r.bound[0])
              << " b1=" << Describe(r.bound[1]) << " lamport=" << r.lamport_id
              << " at=" << r.allocated_at_unix_ns << " p=" << r.packets[0] << "/" << r.packets[1]
              << " b=" << r.bytes[0] << "/" << r.bytes[1] << "},";
          }
          o << "]";
        } else if constexpr (std::is_same_v<T, ipc::RemoveSession>) {
          o << "RemoveSession vni=" << m.vni;
        } else if constexpr (std::is_same_v<T, ipc::InstallResult>) {
          o << "InstallResult vni=" << m.vni << " ok=" << m.ok << " error=" << m.error;
        } else if constexpr (std::is_same_v<T, ipc::LegBound>) {
          o << "LegBound vni=" << m.vni << " leg=" << int{m.leg} << " addr=" << Describe(m.addr);
        } else if constexpr (std::is_same_v<T, ipc::SessionExpired>) {
          o << "SessionExpired vni=" << m.vni;
        } else if constexpr (std::is_same_v<T, ipc::StatsRequest>) {
          o << "StatsRequest";
        } else {
          static_assert(std::is_same_v<T, ipc::StatsReply>);
          o << "StatsReply [";
          for (const auto& [name, value] : NamedCounters(m.counters)) {
            o << name << "=" << value << ",";
          }
          o << "] workers [";
          for (const ipc::WorkerStats& w : m.workers) {
            o << w.rx_packets << "/" << w.tx_packets << "/" << w.cycles << "/" << w.busy_cycles
              << ",";
          }
          o << "] rings [";
          for (const ipc::RingStats& r : m.rings) {
            o << int{r.ring} << ":" << r.count << "/" << r.capacity << ",";
          }
          o << "] nic [";
          for (const ipc::NicXstat& x : m.nic) {
            o << x.port << "/" << x.name << "=" << x.value << ",";
          }
          o << "]";
        }
      },
      msg);
  return o.str();
}

}  // namespace dprelay::testing
