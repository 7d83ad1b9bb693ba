// Every reason an allocation request gets no reply, in the order the allocator checks them
// (cheapest first: the gates before open_failed cost no crypto). One list generates the enum
// and the metric/log label strings (STYLE.md item 5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dprelay::control {

#define DPRELAY_ALLOCATION_REFUSALS(X)                                                          \
  /* refused before any key agreement or box open */                                            \
  X(kNotDisco, "not_disco")          /* too short or no disco magic */                          \
  X(kBadSenderKey, "bad_sender_key") /* all-zero sender key */                                  \
  X(kNotAllowed, "not_allowed")      /* the sender, or later the peer, is not in the policy */  \
  X(kReplay, "replay")               /* (sender, nonce) already authenticated in the window */  \
  /* the box and the message in it */                                                           \
  X(kOpenFailed, "open_failed")   /* box not sealed to the control key by the sender */         \
  X(kParseFailed, "parse_failed") /* cleartext is no disco message */                           \
  X(kNotRequest, "not_request")   /* some other message type */                                 \
  /* bad keys */                                                                                \
  X(kBadClientKey, "bad_client_key")      /* zero or low-order client key */                    \
  X(kSameKeys, "same_keys")               /* both client keys equal */                          \
  X(kKeyIsServerKey, "key_is_server_key") /* a client key is one of ours */                     \
  X(kSenderNotInPair, "sender_not_in_pair")                                                     \
  X(kBadSource, "bad_source") /* unspecified source address */                                  \
  /* policy (not_allowed for the peer key, listed above) */                                     \
  X(kPeerNotAllowed, "peer_not_allowed") /* a key's peers= list excludes the other */           \
  X(kKeyRate, "key_rate")                /* sender over its rate= */                            \
  X(kSourceRate, "source_rate")          /* source address (/64) over its rule's rate= */       \
  X(kKeySessions, "key_sessions")        /* a key at its max_sessions= */                       \
  X(kSourceSessions, "source_sessions")  /* source address (/64) at its rule's max_sessions= */ \
  X(kCapacity, "capacity")               /* the policy's global capacity reached */             \
  /* resources */                                                                               \
  X(kNoAddrPorts, "no_addr_ports") /* nothing to advertise (dataplane away) */                  \
  /* reflection bounds (control/reply_limiter.h) */                                             \
  X(kReplyRateDest, "reply_rate_dest")     /* replies to this address (/64) over the limit */   \
  X(kReplyRateGlobal, "reply_rate_global") /* replies in all over the limit */                  \
  X(kVniExhausted, "vni_exhausted")        /* every VNI of the table is live */                 \
  X(kInternal, "internal") /* LamportID not persisted, key derivation or secure memory failed */

enum class Refusal : uint8_t {
#define DPRELAY_REFUSAL_ENUM(name, label) name,
  DPRELAY_ALLOCATION_REFUSALS(DPRELAY_REFUSAL_ENUM)
#undef DPRELAY_REFUSAL_ENUM
};

inline constexpr size_t kRefusalCount = 0
#define DPRELAY_REFUSAL_COUNT(name, label) +1
    DPRELAY_ALLOCATION_REFUSALS(DPRELAY_REFUSAL_COUNT)
#undef DPRELAY_REFUSAL_COUNT
    ;

inline constexpr std::string_view kRefusalLabels[kRefusalCount] = {
#define DPRELAY_REFUSAL_LABEL(name, label) label,
    DPRELAY_ALLOCATION_REFUSALS(DPRELAY_REFUSAL_LABEL)
#undef DPRELAY_REFUSAL_LABEL
};

// The metric label, e.g. "not_allowed".
inline constexpr std::string_view RefusalName(Refusal refusal) {
  return kRefusalLabels[static_cast<size_t>(refusal)];
}

}  // namespace dprelay::control
