// Every reason the dataplane drops a packet, from one list (STYLE.md 5): the enum, the metric
// label strings and the per-lcore counter array are all generated from it. In proto/ because
// control reads it too (proto/counter_catalogue.h: metrics, dprelayctl counters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dprelay {

#define DPRELAY_DROP_REASONS(X)                                                                \
  /* Ethernet / IP / UDP */                                                                    \
  X(kEthRunt, "eth_runt")                           /* shorter than an Ethernet header */      \
  X(kUnsupportedEthertype, "unsupported_ethertype") /* not ARP/IPv4 (or IPv6 when on) */       \
  X(kIpRunt, "ip_runt")                             /* truncated IPv4/IPv6 header */           \
  X(kIpBadVersion, "ip_bad_version")                /* version != ethertype's */               \
  X(kIpBadHeaderLength, "ip_bad_header_length")     /* IHL < 5 */                              \
  X(kIpOptions, "ip_options")                       /* IHL > 5: not produced by clients */     \
  X(kIpBadTotalLength, "ip_bad_total_length")       /* total/payload length vs. frame */       \
  X(kIpBadChecksum, "ip_bad_checksum")              /* IPv4 header checksum does not verify */ \
  X(kIpFragment, "ip_fragment")                     /* until reassembly exists */              \
  X(kChainedMbuf, "chained_mbuf")                   /* multi-segment frame (jumbo, scatter) */ \
  X(kIpv6ExtensionHeader, "ipv6_ext_header")        /* IPv6 extension header before UDP */     \
  X(kNotLocal, "not_local")                         /* destination is not ours */              \
  X(kUnsupportedL4, "unsupported_l4")               /* neither UDP nor ICMP */                 \
  X(kUdpRunt, "udp_runt")                           /* truncated UDP header */                 \
  X(kUdpBadLength, "udp_bad_length")                /* UDP length vs. IP payload */            \
  X(kUdp6ZeroChecksum, "udp6_zero_checksum")        /* IPv6 UDP without checksum (RFC 8200) */ \
  X(kNotRelayPort, "not_relay_port")                /* UDP to another port */                  \
  X(kIcmpNotEcho, "icmp_not_echo")                  /* ICMP(v6) not echo request (or ND) */    \
  X(kIcmpBadChecksum, "icmp_bad_checksum")          /* echo request with a bad checksum */     \
  X(kArpNotForUs, "arp_not_for_us")                 /* ARP that needs no answer */             \
  X(kNdInvalid, "nd_invalid")                       /* ND failing RFC 4861 7.1 validation */   \
  X(kNdNotForUs, "nd_not_for_us")                   /* ND for a target that is not ours */     \
  /* relay protocol (PROTOCOL.md §4 and §6 implicit reasons) */                              \
  X(kStun, "stun")                                   /* STUN: no netcheck client here */       \
  X(kGeneveRunt, "geneve_runt")                      /* payload < 8 bytes */                   \
  X(kUnknownVni, "unknown_vni")                      /* no live session for the VNI */         \
  X(kControlNotDisco, "control_not_disco")           /* control bit with protocol != 0x7A11 */ \
  X(kBadWrapper, "bad_wrapper")                      /* too short or wrong magic */            \
  X(kUnknownSender, "unknown_sender")                /* sender key is neither client */        \
  X(kOpenFailed, "open_failed")                      /* box does not open */                   \
  X(kParseFailed, "parse_failed")                    /* cleartext does not parse */            \
  X(kUnexpectedType, "unexpected_type")              /* not Bind or Answer */                  \
  X(kVniMismatch, "vni_mismatch")                    /* sealed VNI != outer VNI */             \
  X(kRemoteKeyMismatch, "remote_key_mismatch")       /* RemoteKey is not the other leg */      \
  X(kGenerationZero, "generation_zero")              /* Bind with Generation 0 */              \
  X(kNoGeneration, "no_generation")                  /* Answer with no Bind in progress */     \
  X(kGenerationMismatch, "generation_mismatch")      /* Answer for another Bind */             \
  X(kMacMismatch, "mac_mismatch")                    /* Answer's challenge is not ours */      \
  X(kNotBound, "not_bound")                          /* data before both legs are bound */     \
  X(kUnknownSource, "unknown_source")                /* data from neither bound address */     \
  /* martian leg addresses (dataplane/martians.h): no Challenge, never bound */                 \
  X(kMartianSelf, "martian_self")               /* one of the relay's own addresses */          \
  X(kMartianAdvertised, "martian_advertised")   /* an endpoint control advertises (NLB) */      \
  X(kMartianBroadcast, "martian_broadcast")     /* limited or subnet broadcast */               \
  X(kMartianMulticast, "martian_multicast")     /* 224.0.0.0/4, ff00::/8 */                     \
  X(kMartianUnspecified, "martian_unspecified") /* 0.0.0.0/8, :: */                             \
  X(kMartianLoopback, "martian_loopback")       /* 127.0.0.0/8, ::1 */                          \
  X(kMartianV4Mapped, "martian_v4_mapped")      /* ::ffff:0:0/96 on the wire */                 \
  X(kMartianPortZero, "martian_port_zero")      /* source port 0 */                             \
  /* answers to unauthenticated packets, limited per destination and in all (docs/SECURITY.md) */ \
  X(kHandshakeOpenLimited, "handshake_open_limited")       /* box opens per leg (open_budget.h) */ \
  X(kChallengeLimitedDest, "challenge_limited_dest")       /* per destination and VNI */        \
  X(kChallengeLimitedGlobal, "challenge_limited_global")   /* all Challenges */                 \
  X(kIcmpLimitedDest, "icmp_limited_dest")                 /* echo replies per destination */   \
  X(kIcmpLimitedGlobal, "icmp_limited_global")             /* all echo replies */               \
  X(kNeighbourLimitedDest, "neighbour_limited_dest")       /* ARP/NA answers per destination */ \
  X(kNeighbourLimitedGlobal, "neighbour_limited_global")   /* all ARP/NA answers */             \
  /* neighbours: never learned */                                                              \
  X(kNeighbourOwnAddress, "neighbour_own_address") /* ARP/ND claiming one of our addresses */   \
  X(kNeighbourBadMac, "neighbour_bad_mac")         /* broadcast/multicast link-layer address */ \
  X(kNeighbourBadAddress, "neighbour_bad_address") /* sender IP broadcast/multicast */         \
  X(kNdUnsolicited, "nd_unsolicited")              /* advertisement nobody asked for */         \
  /* resources */                                                                              \
  X(kNoNeighbour, "no_neighbour")    /* next hop MAC not resolved */                           \
  X(kNoRoute, "no_route")            /* off-link peer and no gateway */                        \
  X(kHandshakeRingFull, "handshake_ring_full") /* worker -> main lcore: handshakes */            \
  X(kNeighbourRingFull, "neighbour_ring_full") /* worker -> main lcore: ARP and ND */            \
  X(kIcmpRingFull, "icmp_ring_full")           /* worker -> main lcore: other ICMP */            \
  X(kTxFull, "tx_full")              /* TX queue did not take the packet */                    \
  X(kNoMbuf, "no_mbuf")              /* mempool empty when building a reply */                 \
  X(kTooBigForMtu, "too_big_for_mtu") /* IPv4 -> IPv6 would exceed the port's MTU */          \
  X(kNoHeadroom, "no_headroom")      /* IPv4 -> IPv6 needs 20 bytes in front of the packet */                 \
  /* exception interface (--exception_iface) */                                                \
  X(kExceptionRingFull, "exception_ring_full") /* worker -> exception path ring overflow */    \
  X(kExceptionTxFull, "exception_tx_full")     /* the exception interface did not take it */

enum class DropReason : uint8_t {
#define DPRELAY_DROP_ENUM(name, label) name,
  DPRELAY_DROP_REASONS(DPRELAY_DROP_ENUM)
#undef DPRELAY_DROP_ENUM
  // Not a reason: what a verdict other than a drop carries in its reason field. It has no
  // label and no counter; counting it is a bug.
  kNotDropped
};

inline constexpr size_t kNumDropReasons = 0
#define DPRELAY_DROP_COUNT(name, label) +1
    DPRELAY_DROP_REASONS(DPRELAY_DROP_COUNT)
#undef DPRELAY_DROP_COUNT
    ;

inline constexpr std::string_view kDropReasonLabels[kNumDropReasons] = {
#define DPRELAY_DROP_LABEL(name, label) label,
    DPRELAY_DROP_REASONS(DPRELAY_DROP_LABEL)
#undef DPRELAY_DROP_LABEL
};

inline constexpr std::string_view DropReasonLabel(DropReason r) {
  return kDropReasonLabels[static_cast<size_t>(r)];
}

}  // namespace dprelay
