// SSE2 variants of the fast path's header test and header copy (see fast_match.h). The test:
// two 16-byte loads, masked and compared against patterns built once per burst, with the two
// lengths the frame length implies inserted per packet.
#pragma once

#include <emmintrin.h>

#include <cstdint>

#include "dataplane/packet_headers.h"

namespace dprelay {

class FastMatch {
 public:
  // local_ip_be / relay_port_be in network order, as they sit in the packet.
  FastMatch(uint32_t local_ip_be, uint16_t relay_port_be) {
    // Bytes 12..27: ethertype 08 00, version/IHL 45, [TOS], total length (per packet), [ID],
    // flags/fragment offset with DF ignored, [TTL], protocol 17, [checksum], [source].
    mask_lo_ = _mm_setr_epi8(-1, -1, -1, 0, -1, -1, 0, 0, 0x3f, -1, 0, -1, 0, 0, 0, 0);
    pattern_lo_ = _mm_setr_epi8(0x08, 0x00, 0x45, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0);
    // Bytes 24..39: [checksum], [source], destination, [source port], destination port, UDP
    // length (per packet).
    mask_hi_ = _mm_setr_epi8(0, 0, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1);
    pattern_hi_ = _mm_insert_epi16(
        _mm_insert_epi16(_mm_insert_epi16(_mm_setzero_si128(), local_ip_be & 0xffff, 3),
                         local_ip_be >> 16, 4),
        relay_port_be, 6);
  }

  // p points at the frame, len is its length.
  __attribute__((always_inline)) bool Matches(const uint8_t* p, uint32_t len) const {
    if (len < kV4HeaderLen + 8 /* Geneve */) {
      return false;
    }
    const int ip_len = __builtin_bswap16(static_cast<uint16_t>(len - kEthHdrLen));
    const int udp_len = __builtin_bswap16(static_cast<uint16_t>(len - kEthHdrLen - kIpv4HdrLen));
    const __m128i lo =
        _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)), mask_lo_);
    const __m128i hi =
        _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 24)), mask_hi_);
    const __m128i eq = _mm_and_si128(_mm_cmpeq_epi8(lo, _mm_insert_epi16(pattern_lo_, ip_len, 2)),
                                     _mm_cmpeq_epi8(hi, _mm_insert_epi16(pattern_hi_, udp_len, 7)));
    return _mm_movemask_epi8(eq) == 0xffff;
  }

 private:
  __m128i mask_lo_, pattern_lo_, mask_hi_, pattern_hi_;
};

// A 42-byte IPv4 header template held in three registers between the session read (inside the
// seqcount read section) and the write into the packet (after it validated): bytes 0..15,
// 16..31 and 26..41 (the last overlaps the second with identical bytes).
class HeaderRegs {
 public:
  __attribute__((always_inline)) static HeaderRegs Load(const uint8_t* src) {
    static_assert(kV4HeaderLen == 42);
    HeaderRegs h;
    h.a_ = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    h.b_ = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    h.c_ = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 26));
    return h;
  }
  __attribute__((always_inline)) void Store(uint8_t* dst) const {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), a_);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), b_);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 26), c_);
  }

 private:
  __m128i a_, b_, c_;
};

}  // namespace dprelay
