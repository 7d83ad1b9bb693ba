#include "proto/ipc.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/wire.h"

namespace dprelay::ipc {
namespace {

// On the wire: family u8 (0 none, 4, 6), 16 address bytes, port u16.
constexpr size_t kAddrPortLen = 1 + 16 + 2;
// Smallest NIC xstat in a StatsReply: port, empty name (u16 length) and the u64 value.
constexpr size_t kMinXstatLen = 2 + 2 + 8;
// A worker's counters in a StatsReply; a ring's occupancy.
constexpr size_t kWorkerStatsLen = 4 * 8;
constexpr size_t kRingStatsLen = 1 + 4 + 4;

// Smallest DumpReply record: vni, two keys, two addresses, lamport, time, per leg packets,
// bytes, handshake RTT and idle time.
constexpr size_t kSessionRecordLen = 4 + 2 * 32 + 2 * kAddrPortLen + 8 + 8 + 2 * 4 * 8;

static_assert(std::variant_size_v<Message> == 11);
static_assert(std::is_same_v<
              std::variant_alternative_t<static_cast<size_t>(Type::kHello) - 1, Message>, Hello>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<size_t>(Type::kAdvertised) - 1, Message>,
                   Advertised>);
static_assert(kHeaderLen + 8 + kDumpPageSessions * kSessionRecordLen <= kMaxMessageLen);

// Type value = variant index + 1 (checked above at both ends of the list).
Type TypeOf(const Message& m) { return static_cast<Type>(m.index() + 1); }

const char* TypeName(Type t) {
  switch (t) {
    case Type::kHello:
      return "Hello";
    case Type::kInstallSession:
      return "InstallSession";
    case Type::kRemoveSession:
      return "RemoveSession";
    case Type::kInstallResult:
      return "InstallResult";
    case Type::kLegBound:
      return "LegBound";
    case Type::kSessionExpired:
      return "SessionExpired";
    case Type::kStatsRequest:
      return "StatsRequest";
    case Type::kStatsReply:
      return "StatsReply";
    case Type::kDumpRequest:
      return "DumpRequest";
    case Type::kDumpReply:
      return "DumpReply";
    case Type::kAdvertised:
      return "Advertised";
  }
  return nullptr;
}

// ---- encoding ----

struct BodyWriter {
  ByteWriter& w;

  void Addr(const AddrPort& ap) {
    uint8_t b[16] = {};
    if (ap.ip.is_v4()) {
      std::memcpy(b, ap.ip.bytes.data(), 4);
    } else if (ap.ip.is_v6()) {
      std::memcpy(b, ap.ip.bytes.data(), 16);
    }
    w.U8(static_cast<uint8_t>(ap.ip.family));
    w.Bytes(b);
    w.U16(ap.port);
  }
  void Str(const std::string& s) {
    size_t n = std::min(s.size(), kMaxStringLen);
    w.U16(static_cast<uint16_t>(n));
    w.Bytes({reinterpret_cast<const uint8_t*>(s.data()), n});
  }

  // The count is a u16; no relay has that many addresses, so extra ones are dropped.
  void AddrList(const std::vector<AddrPort>& addrs) {
    size_t n = std::min<size_t>(addrs.size(), UINT16_MAX);
    w.U16(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) {
      Addr(addrs[i]);
    }
  }

  void operator()(const Hello& m) {
    AddrList(m.relay_addrs);
    w.U32(m.capacity);
  }
  void operator()(const Advertised& m) { AddrList(m.addrs); }
  void operator()(const InstallSession& m) {
    w.U32(m.vni);
    for (const DiscoKey& k : m.client_keys) {
      w.Bytes(k.bytes);
    }
    for (const SharedKey& k : m.shared) {
      w.Bytes(k.bytes);
    }
    w.Bytes(m.server_key.bytes);
    w.U64(static_cast<uint64_t>(m.bind_lifetime_ns));
    w.U64(static_cast<uint64_t>(m.steady_state_lifetime_ns));
    for (const AddrPort& ap : m.bound) {
      Addr(ap);
    }
    w.U64(m.lamport_id);
    w.U64(static_cast<uint64_t>(m.allocated_at_unix_ns));
  }
  void operator()(const RemoveSession& m) { w.U32(m.vni); }
  void operator()(const DumpRequest& m) {
    w.U32(m.request_id);
    w.U32(m.from_vni);
  }
  void operator()(const DumpReply& m) {
    w.U32(m.request_id);
    w.U32(m.next_vni);
    w.U32(static_cast<uint32_t>(m.sessions.size()));
    for (const SessionRecord& r : m.sessions) {
      w.U32(r.vni);
      for (const DiscoKey& k : r.client_keys) {
        w.Bytes(k.bytes);
      }
      for (const AddrPort& ap : r.bound) {
        Addr(ap);
      }
      w.U64(r.lamport_id);
      w.U64(static_cast<uint64_t>(r.allocated_at_unix_ns));
      for (size_t i = 0; i < 2; ++i) {
        w.U64(r.packets[i]);
        w.U64(r.bytes[i]);
        w.U64(r.handshake_rtt_ns[i]);
        w.U64(r.idle_ns[i]);
      }
    }
  }
  void operator()(const InstallResult& m) {
    w.U32(m.vni);
    w.U8(m.ok ? 1 : 0);
    Str(m.error);
  }
  void operator()(const LegBound& m) {
    w.U32(m.vni);
    w.U8(m.leg);
    Addr(m.addr);
  }
  void operator()(const SessionExpired& m) { w.U32(m.vni); }
  void operator()(const StatsRequest&) {}
  void operator()(const StatsReply& m) {
    w.U16(static_cast<uint16_t>(m.counters.counters.size()));
    for (uint64_t v : m.counters.counters) {
      w.U64(v);
    }
    w.U16(static_cast<uint16_t>(m.counters.drops.size()));
    for (uint64_t v : m.counters.drops) {
      w.U64(v);
    }
    w.U16(static_cast<uint16_t>(m.workers.size()));
    for (const WorkerStats& s : m.workers) {
      w.U64(s.rx_packets);
      w.U64(s.tx_packets);
      w.U64(s.cycles);
      w.U64(s.busy_cycles);
    }
    w.U8(static_cast<uint8_t>(m.rings.size()));
    for (const RingStats& r : m.rings) {
      w.U8(r.ring);
      w.U32(r.count);
      w.U32(r.capacity);
    }
    w.U32(static_cast<uint32_t>(m.nic.size()));
    for (const NicXstat& x : m.nic) {
      w.U16(x.port);
      Str(x.name);
      w.U64(x.value);
    }
  }
};

// ---- decoding ----

// Reads fields in order and keeps the first failure, naming the message and field.
class FieldReader {
 public:
  FieldReader(Type type, std::span<const uint8_t> body) : type_(type), r_(body) {}

  bool Ok() const { return status_.ok(); }

  void U8(const char* field, uint8_t* v) {
    if (Need(field, 1)) {
      r_.U8(v);
    }
  }
  void U16(const char* field, uint16_t* v) {
    if (Need(field, 2)) {
      r_.U16(v);
    }
  }
  void U32(const char* field, uint32_t* v) {
    if (Need(field, 4)) {
      r_.U32(v);
    }
  }
  void U64(const char* field, uint64_t* v) {
    if (Need(field, 8)) {
      r_.U64(v);
    }
  }
  void I64(const char* field, int64_t* v) {
    uint64_t u = 0;
    U64(field, &u);
    *v = static_cast<int64_t>(u);
  }
  void Bytes(const char* field, std::span<uint8_t> out) {
    if (Need(field, out.size())) {
      r_.Bytes(out);
    }
  }
  void Bool(const char* field, bool* v) {
    uint8_t b = 0;
    U8(field, &b);
    if (Ok() && b > 1) {
      Fail(field, absl::StrCat("bool must be 0 or 1, got ", b));
    }
    *v = b == 1;
  }
  void Str(const char* field, std::string* s) {
    uint16_t n = 0;
    U16(field, &n);
    if (!Ok()) {
      return;
    }
    if (n > kMaxStringLen) {
      Fail(field, absl::StrCat("string of ", n, " bytes exceeds the limit of ", kMaxStringLen));
      return;
    }
    if (!Need(field, n)) {
      return;
    }
    std::span<const uint8_t> b = r_.rest().first(n);
    s->assign(reinterpret_cast<const char*>(b.data()), b.size());
    r_.Skip(n);
  }
  void Addr(const char* field, AddrPort* ap) {
    uint8_t family = 0;
    std::array<uint8_t, 16> b{};
    U8(field, &family);
    Bytes(field, b);
    U16(field, &ap->port);
    if (!Ok()) {
      return;
    }
    size_t used = 0;
    switch (family) {
      case static_cast<uint8_t>(IpFamily::kNone):
        used = 0;
        break;
      case static_cast<uint8_t>(IpFamily::kV4):
        used = 4;
        break;
      case static_cast<uint8_t>(IpFamily::kV6):
        used = 16;
        break;
      default:
        Fail(field, absl::StrCat("address family ", family, " is not 0, 4 or 6"));
        return;
    }
    for (size_t i = used; i < b.size(); ++i) {
      if (b[i] != 0) {
        Fail(field,
             absl::StrCat("address bytes past the family's length (", used, ") must be zero"));
        return;
      }
    }
    ap->ip.family = static_cast<IpFamily>(family);
    ap->ip.bytes = b;
  }
  // A count of elements that each take at least min_len bytes.
  void Count(const char* field, uint32_t count, size_t min_len) {
    if (Ok() && count > r_.remaining() / min_len) {
      Fail(field, absl::StrCat("count ", count, " cannot fit in the remaining ", r_.remaining(),
                               " bytes"));
    }
  }
  void Fail(const char* field, absl::string_view why) {
    if (Ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("ipc ", TypeName(type_), ": field ", field, ": ", why));
    }
  }
  absl::Status Finish() {
    if (Ok() && r_.remaining() != 0) {
      Fail("(end)", absl::StrCat(r_.remaining(), " unexpected trailing bytes"));
    }
    return status_;
  }

 private:
  bool Need(const char* field, size_t n) {
    if (!Ok()) {
      return false;
    }
    if (r_.remaining() < n) {
      Fail(field, absl::StrCat("truncated: need ", n, " bytes, ", r_.remaining(), " left"));
      return false;
    }
    return true;
  }

  Type type_;
  ByteReader r_;
  absl::Status status_;
};

// A u16 count that must be out.size() (the catalogue of this build), then the u64 values.
void ReadFixedArray(FieldReader& r, const std::string& name, std::span<uint64_t> out) {
  uint16_t n = 0;
  const std::string count = name + ".count";
  const std::string value = name + ".value";
  r.U16(count.c_str(), &n);
  if (r.Ok() && n != out.size()) {
    r.Fail(count.c_str(), absl::StrCat(n, " values, but this build's catalogue has ", out.size(),
                                       " (control and dataplane from different builds?)"));
  }
  for (size_t i = 0; r.Ok() && i < out.size(); ++i) {
    r.U64(value.c_str(), &out[i]);
  }
}

// A u16 count, then that many addresses (BodyWriter::AddrList).
void ReadAddrList(FieldReader& r, const std::string& name, std::vector<AddrPort>* out) {
  uint16_t n = 0;
  const std::string count = name + ".count";
  r.U16(count.c_str(), &n);
  r.Count(count.c_str(), n, kAddrPortLen);
  if (r.Ok()) {
    out->resize(n);
  }
  for (size_t i = 0; r.Ok() && i < n; ++i) {
    r.Addr(name.c_str(), &(*out)[i]);
  }
}

Message DecodeBody(Type type, FieldReader& r) {
  switch (type) {
    case Type::kHello: {
      Hello m;
      ReadAddrList(r, "relay_addrs", &m.relay_addrs);
      r.U32("capacity", &m.capacity);
      return m;
    }
    case Type::kAdvertised: {
      Advertised m;
      ReadAddrList(r, "addrs", &m.addrs);
      return m;
    }
    case Type::kInstallSession: {
      InstallSession m;
      r.U32("vni", &m.vni);
      for (DiscoKey& k : m.client_keys) {
        r.Bytes("client_keys", k.bytes);
      }
      for (SharedKey& k : m.shared) {
        r.Bytes("shared", k.bytes);
      }
      r.Bytes("server_key", m.server_key.bytes);
      r.I64("bind_lifetime_ns", &m.bind_lifetime_ns);
      r.I64("steady_state_lifetime_ns", &m.steady_state_lifetime_ns);
      for (AddrPort& ap : m.bound) {
        r.Addr("bound", &ap);
      }
      r.U64("lamport_id", &m.lamport_id);
      r.I64("allocated_at_unix_ns", &m.allocated_at_unix_ns);
      return m;
    }
    case Type::kDumpRequest: {
      DumpRequest m;
      r.U32("request_id", &m.request_id);
      r.U32("from_vni", &m.from_vni);
      return m;
    }
    case Type::kDumpReply: {
      DumpReply m;
      uint32_t n = 0;
      r.U32("request_id", &m.request_id);
      r.U32("next_vni", &m.next_vni);
      r.U32("sessions.count", &n);
      r.Count("sessions.count", n, kSessionRecordLen);
      if (r.Ok()) {
        m.sessions.resize(n);
      }
      for (size_t i = 0; r.Ok() && i < n; ++i) {
        SessionRecord& rec = m.sessions[i];
        r.U32("sessions.vni", &rec.vni);
        for (DiscoKey& k : rec.client_keys) {
          r.Bytes("sessions.client_keys", k.bytes);
        }
        for (AddrPort& ap : rec.bound) {
          r.Addr("sessions.bound", &ap);
        }
        r.U64("sessions.lamport_id", &rec.lamport_id);
        r.I64("sessions.allocated_at_unix_ns", &rec.allocated_at_unix_ns);
        for (size_t leg = 0; leg < 2; ++leg) {
          r.U64("sessions.packets", &rec.packets[leg]);
          r.U64("sessions.bytes", &rec.bytes[leg]);
          r.U64("sessions.handshake_rtt_ns", &rec.handshake_rtt_ns[leg]);
          r.U64("sessions.idle_ns", &rec.idle_ns[leg]);
        }
      }
      return m;
    }
    case Type::kRemoveSession: {
      RemoveSession m;
      r.U32("vni", &m.vni);
      return m;
    }
    case Type::kInstallResult: {
      InstallResult m;
      r.U32("vni", &m.vni);
      r.Bool("ok", &m.ok);
      r.Str("error", &m.error);
      return m;
    }
    case Type::kLegBound: {
      LegBound m;
      r.U32("vni", &m.vni);
      r.U8("leg", &m.leg);
      if (r.Ok() && m.leg > 1) {
        r.Fail("leg", absl::StrCat("must be 0 or 1, got ", m.leg));
      }
      r.Addr("addr", &m.addr);
      return m;
    }
    case Type::kSessionExpired: {
      SessionExpired m;
      r.U32("vni", &m.vni);
      return m;
    }
    case Type::kStatsRequest:
      return StatsRequest{};
    case Type::kStatsReply: {
      StatsReply m;
      ReadFixedArray(r, "counters", std::span<uint64_t>(m.counters.counters));
      ReadFixedArray(r, "drops", std::span<uint64_t>(m.counters.drops));
      uint16_t workers = 0;
      r.U16("workers.count", &workers);
      r.Count("workers.count", workers, kWorkerStatsLen);
      if (r.Ok()) {
        m.workers.resize(workers);
      }
      for (size_t i = 0; r.Ok() && i < workers; ++i) {
        r.U64("workers.rx_packets", &m.workers[i].rx_packets);
        r.U64("workers.tx_packets", &m.workers[i].tx_packets);
        r.U64("workers.cycles", &m.workers[i].cycles);
        r.U64("workers.busy_cycles", &m.workers[i].busy_cycles);
      }
      uint8_t rings = 0;
      r.U8("rings.count", &rings);
      r.Count("rings.count", rings, kRingStatsLen);
      if (r.Ok()) {
        m.rings.resize(rings);
      }
      for (size_t i = 0; r.Ok() && i < rings; ++i) {
        r.U8("rings.ring", &m.rings[i].ring);
        if (r.Ok() && m.rings[i].ring >= kNumRings) {
          r.Fail("rings.ring", absl::StrCat("ring ", m.rings[i].ring, " is not below ", kNumRings));
        }
        r.U32("rings.count", &m.rings[i].count);
        r.U32("rings.capacity", &m.rings[i].capacity);
      }
      uint32_t n = 0;
      r.U32("nic.count", &n);
      r.Count("nic.count", n, kMinXstatLen);
      if (r.Ok()) {
        m.nic.resize(n);
      }
      for (size_t i = 0; r.Ok() && i < n; ++i) {
        r.U16("nic.port", &m.nic[i].port);
        r.Str("nic.name", &m.nic[i].name);
        r.U64("nic.value", &m.nic[i].value);
      }
      return m;
    }
  }
  return StatsRequest{};  // unreachable: Decode checked the type
}

}  // namespace

std::vector<uint8_t> Encode(const Message& msg) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U16(kVersion);
  w.U16(static_cast<uint16_t>(TypeOf(msg)));
  w.U32(0);  // body length, patched below
  std::visit(BodyWriter{w}, msg);
  StoreBe32(out.data() + 4, static_cast<uint32_t>(out.size() - kHeaderLen));
  return out;
}

absl::StatusOr<Message> Decode(std::span<const uint8_t> in) {
  if (in.size() < kHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ipc: message of ", in.size(), " bytes is shorter than the ", kHeaderLen, "-byte header"));
  }
  if (in.size() > kMaxMessageLen) {
    return absl::InvalidArgumentError(absl::StrCat("ipc: message of ", in.size(),
                                                   " bytes exceeds the limit of ", kMaxMessageLen));
  }
  const uint16_t version = LoadBe16(in.data());
  const uint16_t type_raw = LoadBe16(in.data() + 2);
  const uint32_t body_len = LoadBe32(in.data() + 4);
  if (version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("ipc: version ", version, ", this build speaks ", kVersion));
  }
  const Type type = static_cast<Type>(type_raw);
  if (TypeName(type) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("ipc: unknown message type ", type_raw));
  }
  if (body_len != in.size() - kHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat("ipc ", TypeName(type), ": header says ",
                                                   body_len, " body bytes, datagram has ",
                                                   in.size() - kHeaderLen));
  }
  FieldReader r(type, in.subspan(kHeaderLen));
  Message m = DecodeBody(type, r);
  absl::Status s = r.Finish();
  if (!s.ok()) {
    return s;
  }
  return m;
}

}  // namespace dprelay::ipc
