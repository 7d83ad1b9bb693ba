// What one session's legs may cost the main lcore in box opens (docs/SECURITY.md "Box opens").
// A control packet that names a session's VNI and one of its client keys costs a box open
// before it can be told from junk. Anyone who has seen a client's disco key (it travels in
// clear in every disco packet) can send such packets, and so can the client itself; without a
// bound, one session's flood would take the main lcore from every other session's handshakes.
//
// The budget applies only while the main lcore is behind (a backlog in its handshake ring) or
// busy (more box opens this second than legitimate binds need, SessionManager): then each leg
// gets kLegOpensPerSecond opens per second from its bound address and as many from
// anywhere else (first binds, NAT rebinds, junk). A flood naming one leg then costs at most
// that leg's budget and does not touch another leg or session; one from a third party that
// does not spoof the leg's exact bound address and port cannot stop its re-handshakes. While
// the main lcore keeps up, nothing is rationed, so junk sent under a client's name cannot
// lock it out. A fixed one-second window with a 16-bit second stamp: four
// bytes per budget. (A window 65536 s later that happens to carry the same stamp reuses its
// old count: at worst one second of a reduced budget, once in 18 hours of silence.)
//
// Concurrency: main lcore only (it lives in SessionState).
#pragma once

#include <cstdint>
#include <type_traits>

namespace dprelay {

// Legitimate clients open a handful per second per leg: a Bind, its retransmissions and an
// Answer per handshake.
inline constexpr uint32_t kLegOpensPerSecond = 32;

template <uint32_t kOpensPerSecond = kLegOpensPerSecond>
class OpenBudget {
 public:
  // True (and counted) when an open is allowed in the second of now_ns.
  bool Take(uint64_t now_ns) {
    const auto second = static_cast<uint16_t>(now_ns / 1'000'000'000);
    if (second != second_) {
      second_ = second;
      used_ = 0;
    }
    if (used_ >= kOpensPerSecond) {
      return false;
    }
    ++used_;
    return true;
  }

 private:
  uint16_t second_ = 0xffff;
  std::conditional_t<(kOpensPerSecond < 0xffff), uint16_t, uint32_t> used_ = 0;
};
static_assert(sizeof(OpenBudget<>) == 4);

}  // namespace dprelay
