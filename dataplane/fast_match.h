// The IPv4 fast path's architecture-specific helpers, one implementation per architecture
// (STYLE.md 15). FastMatch: does a frame look exactly like well-formed relay data to us? Ethernet IPv4, IHL 5, not
// fragmented (DF ignored), UDP, to the relay address and port, IP and UDP lengths that fill the
// frame exactly (no Ethernet padding: relayed WireGuard is never that short), and room for a
// Geneve header. Anything else goes to the complete classifier, which names the reason.
// HeaderRegs: a leg's 42-byte header template held in registers from the session read to the
// packet write.
#pragma once

#if defined(__SSE2__)
#include "dataplane/fast_match_sse.h"
#else
#include "dataplane/fast_match_scalar.h"
#endif
