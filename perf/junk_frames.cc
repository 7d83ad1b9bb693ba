#include "perf/junk_frames.h"

#include <arpa/inet.h>

#include <cstring>

#include "proto/disco.h"
#include "proto/geneve.h"
#include "tests/testutil/packet_builder.h"

namespace dprelay::perf {
namespace {

constexpr uint8_t kGatewayMac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe};

// A small xorshift generator: the frames vary, reproducibly.
struct Rng {
  uint64_t s = 0x2545f4914f6cdd1dull;
  uint32_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>(s >> 16);
  }
};

std::vector<uint8_t> ControlFrame(const JunkTarget& t, Rng& rng, JunkClass c) {
  const uint32_t vni = c == JunkClass::kControlOpen      ? t.vni
                       : c == JunkClass::kControlOpenAll ? 1 + rng.Next() % t.sessions
                                                         : t.sessions + 1 + rng.Next() % 1000;
  std::vector<uint8_t> payload(kGeneveHeaderLen + SealedDiscoLen(kBindMessageLen));
  (void)EncodeGeneve({.control = true, .protocol = kGeneveProtocolDisco, .vni = vni},
                     std::span<uint8_t>(payload.data(), kGeneveHeaderLen));
  // A disco wrapper naming the client's key, then bytes no key opens.
  uint8_t* disco = payload.data() + kGeneveHeaderLen;
  std::memcpy(disco, kDiscoMagic.data(), kDiscoMagic.size());
  std::memcpy(disco + kDiscoMagic.size(), t.client_key.bytes.data(), t.client_key.bytes.size());
  for (size_t i = kDiscoMagic.size() + t.client_key.bytes.size(); i < payload.size() - kGeneveHeaderLen;
       ++i) {
    disco[i] = static_cast<uint8_t>(rng.Next());
  }
  testing::Frame f;
  std::memcpy(f.src_mac, kGatewayMac, 6);
  std::memcpy(f.dst_mac, t.relay_mac, 6);
  f.src_ip = 0xc6336400 | (rng.Next() & 0xff);  // 198.51.100.0/24, behind the gateway
  f.dst_ip = ntohl(t.relay_ip_be);
  f.src_port = static_cast<uint16_t>(1024 + rng.Next() % 60000);
  f.dst_port = ntohs(t.relay_port_be);
  f.payload = std::move(payload);
  return f.Build();
}

std::vector<uint8_t> ArpFrame(const JunkTarget& t, Rng& rng) {
  std::vector<uint8_t> p(42, 0);
  uint8_t mac[6] = {0x02, 0x66, 0, 0, 0, 0};
  const uint32_t r = rng.Next();
  std::memcpy(mac + 2, &r, 4);
  std::memset(p.data(), 0xff, 6);
  std::memcpy(p.data() + 6, mac, 6);
  p[12] = 0x08, p[13] = 0x06, p[15] = 1, p[16] = 0x08, p[18] = 6, p[19] = 4, p[21] = 1;
  std::memcpy(p.data() + 22, mac, 6);
  // Senders all over the relay's /24 (the relay is .1): each request is answered to its
  // sender within the per-destination and global limits.
  const uint32_t sender = htonl((ntohl(t.relay_ip_be) & 0xffffff00) | (2 + r % 250));
  std::memcpy(p.data() + 28, &sender, 4);
  std::memcpy(p.data() + 38, &t.relay_ip_be, 4);
  return p;
}

std::vector<uint8_t> IcmpFrame(const JunkTarget& t, Rng& rng) {
  testing::Frame f;
  std::memcpy(f.src_mac, kGatewayMac, 6);
  std::memcpy(f.dst_mac, t.relay_mac, 6);
  f.src_ip = 0xcb007100 | (rng.Next() & 0xff);  // 203.0.113.0/24
  f.dst_ip = ntohl(t.relay_ip_be);
  f.protocol = 1;
  f.raw_l4 = true;
  f.payload.assign(64, 0);
  f.payload[0] = 8;  // echo request
  const uint32_t id = rng.Next();
  std::memcpy(f.payload.data() + 4, &id, 4);  // identifier and sequence
  return f.Build();
}

}  // namespace

std::optional<JunkClass> ParseJunkClass(std::string_view name) {
  for (JunkClass c : {JunkClass::kControlOpen, JunkClass::kControlOpenAll,
                      JunkClass::kControlUnknown, JunkClass::kArp, JunkClass::kIcmp}) {
    if (name == JunkClassName(c)) {
      return c;
    }
  }
  return std::nullopt;
}

const char* JunkClassName(JunkClass c) {
  switch (c) {
    case JunkClass::kControlOpen:
      return "control_open";
    case JunkClass::kControlOpenAll:
      return "control_open_all";
    case JunkClass::kControlUnknown:
      return "control_unknown";
    case JunkClass::kArp:
      return "arp";
    case JunkClass::kIcmp:
      return "icmp";
  }
  return "?";
}

std::vector<std::vector<uint8_t>> MakeJunk(JunkClass c, const JunkTarget& target, size_t count) {
  Rng rng;
  std::vector<std::vector<uint8_t>> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    switch (c) {
      case JunkClass::kControlOpen:
      case JunkClass::kControlOpenAll:
      case JunkClass::kControlUnknown:
        out.push_back(ControlFrame(target, rng, c));
        break;
      case JunkClass::kArp:
        out.push_back(ArpFrame(target, rng));
        break;
      case JunkClass::kIcmp:
        out.push_back(IcmpFrame(target, rng));
        break;
    }
  }
  return out;
}

}  // namespace dprelay::perf
