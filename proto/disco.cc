#include "proto/disco.h"

#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/wire.h"

namespace dprelay {
namespace {

constexpr size_t kPongBodyLen = kTxIdLen + kAddrPortWireLen;
constexpr size_t kAllocateRequestBodyLen = 2 * kKeyLen + 4;
static_assert(kBindMessageLen == 74 && kPongBodyLen == 30 && kAllocateRequestBodyLen == 68);
static_assert(kUdpRelayEndpointFixedLen == 3 * kKeyLen + 8 + 4 + 8 + 8);

// Wire type byte for each alternative of DiscoMessage, in variant order.
constexpr DiscoType kTypeOf[] = {
    DiscoType::kPing,
    DiscoType::kPong,
    DiscoType::kCallMeMaybe,
    DiscoType::kBindUdpRelayEndpoint,
    DiscoType::kBindUdpRelayEndpointChallenge,
    DiscoType::kBindUdpRelayEndpointAnswer,
    DiscoType::kCallMeMaybeVia,
    DiscoType::kAllocateUdpRelayEndpointRequest,
    DiscoType::kAllocateUdpRelayEndpointResponse,
};
static_assert(std::size(kTypeOf) == std::variant_size_v<DiscoMessage>);

absl::Status Short(const char* what, size_t got, size_t need) {
  return absl::InvalidArgumentError(
      absl::StrCat("disco ", what, ": body is ", got, " bytes, need at least ", need));
}

// ---- encoding ----

void PutAddrPort(ByteWriter& w, const AddrPort& ap) {
  uint8_t ip16[16];
  WriteIp16(ap.ip, ip16);
  w.Bytes(ip16);
  w.U16(ap.port);
}

void PutBindCommon(uint8_t* p, const BindCommon& m) {
  StoreBe32(p, m.vni);
  StoreBe32(p + 4, m.generation);
  std::memcpy(p + 8, m.remote_key.bytes.data(), kKeyLen);
  std::memcpy(p + 8 + kKeyLen, m.challenge.data(), m.challenge.size());
}

void PutEndpoint(ByteWriter& w, const UdpRelayEndpoint& e) {
  w.Bytes(e.server_disco.bytes);
  w.Bytes(e.client_disco[0].bytes);
  w.Bytes(e.client_disco[1].bytes);
  w.U64(e.lamport_id);
  w.U32(e.vni);
  w.U64(static_cast<uint64_t>(absl::ToInt64Nanoseconds(e.bind_lifetime)));
  w.U64(static_cast<uint64_t>(absl::ToInt64Nanoseconds(e.steady_state_lifetime)));
  for (const AddrPort& ap : e.addr_ports) {
    PutAddrPort(w, ap);
  }
}

struct BodyEncoder {
  ByteWriter& w;

  void operator()(const Ping& m) {
    w.Bytes(m.tx_id);
    if (m.node_key.has_value()) {
      w.Bytes(m.node_key->bytes);
    }
    w.Zeros(m.padding);
  }
  void operator()(const Pong& m) {
    w.Bytes(m.tx_id);
    PutAddrPort(w, m.src);
  }
  void operator()(const CallMeMaybe& m) {
    for (const AddrPort& ap : m.my_numbers) {
      PutAddrPort(w, ap);
    }
  }
  void operator()(const BindCommon& m) {
    uint8_t body[kBindCommonLen];
    PutBindCommon(body, m);
    w.Bytes(body);
  }
  void operator()(const CallMeMaybeVia& m) { PutEndpoint(w, m.endpoint); }
  void operator()(const AllocateUdpRelayEndpointRequest& m) {
    w.Bytes(m.client_disco[0].bytes);
    w.Bytes(m.client_disco[1].bytes);
    w.U32(m.generation);
  }
  void operator()(const AllocateUdpRelayEndpointResponse& m) {
    w.U32(m.generation);
    PutEndpoint(w, m.endpoint);
  }
};

// ---- parsing ----

AddrPort GetAddrPort(const uint8_t* p) {
  AddrPort ap;
  ap.ip = ReadIp16(p);
  ap.port = LoadBe16(p + 16);
  return ap;
}

BindCommon GetBindCommon(const uint8_t* p) {
  BindCommon m;
  m.vni = LoadBe32(p);
  m.generation = LoadBe32(p + 4);
  std::memcpy(m.remote_key.bytes.data(), p + 8, kKeyLen);
  std::memcpy(m.challenge.data(), p + 8 + kKeyLen, m.challenge.size());
  return m;
}

absl::StatusOr<UdpRelayEndpoint> GetEndpoint(const char* what, std::span<const uint8_t> b) {
  if (b.size() < kUdpRelayEndpointFixedLen + kAddrPortWireLen ||
      (b.size() - kUdpRelayEndpointFixedLen) % kAddrPortWireLen != 0) {
    return absl::InvalidArgumentError(absl::StrCat("disco ", what, ": relay endpoint is ", b.size(),
                                                   " bytes, need ", kUdpRelayEndpointFixedLen,
                                                   " + ", kAddrPortWireLen, "*N with N >= 1"));
  }
  const uint8_t* p = b.data();
  UdpRelayEndpoint e;
  std::memcpy(e.server_disco.bytes.data(), p, kKeyLen);
  std::memcpy(e.client_disco[0].bytes.data(), p + kKeyLen, kKeyLen);
  std::memcpy(e.client_disco[1].bytes.data(), p + 2 * kKeyLen, kKeyLen);
  e.lamport_id = LoadBe64(p + 96);
  e.vni = LoadBe32(p + 104);
  e.bind_lifetime = absl::Nanoseconds(static_cast<int64_t>(LoadBe64(p + 108)));
  e.steady_state_lifetime = absl::Nanoseconds(static_cast<int64_t>(LoadBe64(p + 116)));
  const size_t n = (b.size() - kUdpRelayEndpointFixedLen) / kAddrPortWireLen;
  e.addr_ports.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    e.addr_ports.push_back(GetAddrPort(p + kUdpRelayEndpointFixedLen + i * kAddrPortWireLen));
  }
  return e;
}

absl::StatusOr<DiscoMessage> ParsePing(std::span<const uint8_t> body) {
  if (body.size() < kTxIdLen) {
    return Short("Ping", body.size(), kTxIdLen);
  }
  Ping m;
  std::memcpy(m.tx_id.data(), body.data(), kTxIdLen);
  size_t rest = body.size() - kTxIdLen;
  if (rest >= kKeyLen) {
    DiscoKey key;
    std::memcpy(key.bytes.data(), body.data() + kTxIdLen, kKeyLen);
    m.node_key = key;
    rest -= kKeyLen;
  }
  m.padding = rest;
  return m;
}

absl::StatusOr<DiscoMessage> ParsePong(std::span<const uint8_t> body) {
  if (body.size() < kPongBodyLen) {
    return Short("Pong", body.size(), kPongBodyLen);
  }
  Pong m;
  std::memcpy(m.tx_id.data(), body.data(), kTxIdLen);
  m.src = GetAddrPort(body.data() + kTxIdLen);
  return m;
}

DiscoMessage ParseCallMeMaybe(uint8_t version, std::span<const uint8_t> body) {
  CallMeMaybe m;
  if (version != 0 || body.empty() || body.size() % kAddrPortWireLen != 0) {
    return m;  // the reference's leniency: an empty message, not an error
  }
  m.my_numbers.reserve(body.size() / kAddrPortWireLen);
  for (size_t off = 0; off < body.size(); off += kAddrPortWireLen) {
    m.my_numbers.push_back(GetAddrPort(body.data() + off));
  }
  return m;
}

template <typename T>
absl::StatusOr<DiscoMessage> ParseBind(const char* what, std::span<const uint8_t> body) {
  if (body.size() < kBindCommonLen) {
    return Short(what, body.size(), kBindCommonLen);
  }
  T m;
  static_cast<BindCommon&>(m) = GetBindCommon(body.data());
  return m;
}

absl::StatusOr<DiscoMessage> ParseCallMeMaybeVia(std::span<const uint8_t> body) {
  absl::StatusOr<UdpRelayEndpoint> e = GetEndpoint("CallMeMaybeVia", body);
  if (!e.ok()) {
    return e.status();
  }
  CallMeMaybeVia m;
  m.endpoint = *std::move(e);
  return m;
}

absl::StatusOr<DiscoMessage> ParseAllocateRequest(std::span<const uint8_t> body) {
  if (body.size() < kAllocateRequestBodyLen) {
    return Short("AllocateUDPRelayEndpointRequest", body.size(), kAllocateRequestBodyLen);
  }
  AllocateUdpRelayEndpointRequest m;
  std::memcpy(m.client_disco[0].bytes.data(), body.data(), kKeyLen);
  std::memcpy(m.client_disco[1].bytes.data(), body.data() + kKeyLen, kKeyLen);
  m.generation = LoadBe32(body.data() + 2 * kKeyLen);
  return m;
}

absl::StatusOr<DiscoMessage> ParseAllocateResponse(std::span<const uint8_t> body) {
  if (body.size() < 4) {
    return Short("AllocateUDPRelayEndpointResponse", body.size(), 4);
  }
  absl::StatusOr<UdpRelayEndpoint> e =
      GetEndpoint("AllocateUDPRelayEndpointResponse", body.subspan(4));
  if (!e.ok()) {
    return e.status();
  }
  AllocateUdpRelayEndpointResponse m;
  m.generation = LoadBe32(body.data());
  m.endpoint = *std::move(e);
  return m;
}

}  // namespace

std::vector<uint8_t> EncodeDisco(const DiscoMessage& msg) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U8(static_cast<uint8_t>(kTypeOf[msg.index()]));
  w.U8(0);  // version
  std::visit(BodyEncoder{w}, msg);
  return out;
}

absl::StatusOr<DiscoMessage> ParseDisco(std::span<const uint8_t> in) {
  if (in.size() < kDiscoInnerHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("disco message: ", in.size(), " bytes, need at least 2 (type and version)"));
  }
  const uint8_t type = in[0];
  const uint8_t version = in[1];
  std::span<const uint8_t> body = in.subspan(kDiscoInnerHeaderLen);
  switch (static_cast<DiscoType>(type)) {
    case DiscoType::kPing:
      return ParsePing(body);
    case DiscoType::kPong:
      return ParsePong(body);
    case DiscoType::kCallMeMaybe:
      return ParseCallMeMaybe(version, body);
    case DiscoType::kBindUdpRelayEndpoint:
      return ParseBind<BindUdpRelayEndpoint>("BindUDPRelayEndpoint", body);
    case DiscoType::kBindUdpRelayEndpointChallenge:
      return ParseBind<BindUdpRelayEndpointChallenge>("BindUDPRelayEndpointChallenge", body);
    case DiscoType::kBindUdpRelayEndpointAnswer:
      return ParseBind<BindUdpRelayEndpointAnswer>("BindUDPRelayEndpointAnswer", body);
    // For 0x07..0x09 a nonzero version yields an empty message and no error, as the reference.
    case DiscoType::kCallMeMaybeVia:
      if (version != 0) {
        return CallMeMaybeVia{};
      }
      return ParseCallMeMaybeVia(body);
    case DiscoType::kAllocateUdpRelayEndpointRequest:
      if (version != 0) {
        return AllocateUdpRelayEndpointRequest{};
      }
      return ParseAllocateRequest(body);
    case DiscoType::kAllocateUdpRelayEndpointResponse:
      if (version != 0) {
        return AllocateUdpRelayEndpointResponse{};
      }
      return ParseAllocateResponse(body);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("disco message: unknown type 0x", absl::Hex(type, absl::kZeroPad2)));
}

void EncodeBindMessage(DiscoType type, const BindCommon& m,
                       std::span<uint8_t, kBindMessageLen> out) {
  out[0] = static_cast<uint8_t>(type);
  out[1] = 0;  // version
  PutBindCommon(out.data() + kDiscoInnerHeaderLen, m);
}

}  // namespace dprelay
