// The main lcore's answers to ARP, ICMP echo and Neighbour Discovery as pure functions over a
// frame's bytes: the frame in, a verdict out, and for a reply the frame rewritten in place.
// Nothing here touches an mbuf, a ring or a table (only DPDK's header-only checksum helpers),
// so unit tests and fuzzers drive every rule without EAL; NeighbourResponder and MainLcore
// apply the verdicts (transmit, hand to the kernel, learn, count).
//
// Frames come from untrusted peers. Every function validates what it reads against `len`
// (the workers' checks are not assumed) and never writes beyond `capacity`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/local_identity.h"
#include "proto/addr.h"
#include "proto/drop_reasons.h"

namespace dprelay {

struct FrameBytes {
  uint8_t* data = nullptr;
  size_t len = 0;       // bytes of the frame
  size_t capacity = 0;  // bytes that may be written at data (>= len)
};

// A neighbour mapping a frame taught us (ARP sender, ND source or target link-layer option).
struct LearnedNeighbour {
  IpAddr ip;
  MacAddr mac{};
  bool override = true;  // false: an IPv6 advertisement without the O flag (RFC 4861 7.2.5)
  // From a Neighbour Advertisement: only updates an entry we have (one we solicited); an
  // unsolicited advertisement for an unknown address is not learned (RFC 4861 7.2.5).
  bool advertisement = false;
};

struct FrameVerdict {
  enum class Action : uint8_t {
    kDrop,            // count `drop` and free
    kReply,           // the frame now holds the reply, reply_len bytes: transmit it
    kToKernel,        // the kernel's business: to the exception interface, else a drop of `drop`
    kToKernelOrFree,  // used (learned from); the kernel may want it too, else just freed
  };
  Action action = Action::kDrop;
  DropReason drop = DropReason::kEthRunt;  // when kDrop or kToKernel
  size_t reply_len = 0;
  IpAddr reply_to;  // when kReply: whom the answer goes to (what reply limits count)
  std::optional<LearnedNeighbour> learn;  // whatever the action
};

// Frames that claim one of our addresses as their sender, a broadcast or multicast link-layer
// address, or a broadcast or multicast sender address, are dropped (neighbour_own_address,
// neighbour_bad_mac, neighbour_bad_address): nothing on the link can make us learn or answer
// them.
//
// ARP (RFC 826) for our IPv4 address: a request becomes our reply in place; a reply (or any
// other operation) addressed to us goes to the kernel. The sender is learned from both.
FrameVerdict HandleArpFrame(FrameBytes f, const LocalIdentity& local);

// ICMP to our IPv4 address (to another: a kNotLocal drop): an echo request becomes the echo
// reply in place; echo replies and errors (fragmentation needed, time exceeded, parameter
// problem) go to the kernel.
FrameVerdict HandleIcmp4Frame(FrameBytes f, const LocalIdentity& local);

// ICMPv6 to our addresses or groups: echo, Neighbour Solicitation (answered with an
// advertisement, which may need up to 8 bytes more than the solicitation), Neighbour
// Advertisement (learned, and handed to the kernel), errors (to the kernel).
FrameVerdict HandleIcmp6Frame(FrameBytes f, const LocalIdentity& local);

}  // namespace dprelay
