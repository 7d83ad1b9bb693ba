// Regenerates the committed seed corpora under tests/fuzz/corpus/ from the test vectors and
// from round-trip encodings. Not run by the build; run it by hand after changing a codec:
//   fuzz_gen_corpus tests/vectors tests/fuzz/corpus
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_allocator_input.h"
#include "proto/addr.h"
#include "proto/disco.h"
#include "proto/disco_box.h"
#include "proto/geneve.h"
#include "proto/ipc.h"
#include "proto/key.h"

namespace dprelay {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> FromHex(const std::string& text) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      digits += c;
    }
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::map<std::string, std::vector<uint8_t>> Cleartext(const fs::path& dir) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::ifstream f(dir / "cleartext_messages.txt");
  std::string line;
  while (std::getline(f, line)) {
    size_t tab = line.find('\t');
    if (line.empty() || line[0] == '#' || tab == std::string::npos) {
      continue;
    }
    out[line.substr(0, tab)] = FromHex(line.substr(tab + 1));
  }
  return out;
}

// "label [(note)] (N bytes):" then indented hex lines.
std::map<std::string, std::vector<uint8_t>> Sealed(const fs::path& dir) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::ifstream f(dir / "sealed_handshake.txt");
  std::string line;
  std::string label;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line[0] == ' ') {
      std::vector<uint8_t> b = FromHex(line);
      out[label].insert(out[label].end(), b.begin(), b.end());
    } else {
      label = line.substr(0, line.find(" ("));
    }
  }
  return out;
}

// File names are the sanitised seed names, so regenerating overwrites instead of piling up.
void Write(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  fs::create_directories(dir);
  std::string file;
  for (char c : name) {
    file += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  std::ofstream(dir / file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

AddrPort Ap(std::string_view s) { return ParseAddrPort(s).value_or(AddrPort{}); }

// fuzz_allocator: records of fuzz_allocator_input.h walking each gate at least once.
void WriteAllocatorSeeds(const fs::path& dir) {
  namespace fa = fuzz_allocator;
  using Record = std::pair<uint8_t, std::vector<uint8_t>>;
  auto input = [](const std::vector<Record>& records) {
    std::vector<uint8_t> out;
    for (const auto& [op, body] : records) {
      out.push_back(op);
      out.push_back(static_cast<uint8_t>(body.size()));
      out.insert(out.end(), body.begin(), body.end());
    }
    return out;
  };
  // A request for the pair (k0, k1) with a generation, sealed by kSealers[sealer - 1].
  auto request = [](uint8_t sealer, uint8_t k0, uint8_t k1, uint8_t extra_op = 0) {
    return Record{static_cast<uint8_t>(sealer | fa::kTemplate | extra_op), {k0, k1, 0, 0, 0, 7}};
  };
  const Record repeat{fa::kRepeat, {}};
  const DiscoKeyPair control = fa::FuzzKey(fa::kControl);
  const DiscoKeyPair a = fa::FuzzKey(fa::kSealers[0]);
  const SharedKey shared = ComputeSharedKey(control.pub, a.priv).value_or(SharedKey{});
  const DiscoNonce nonce{1, 2, 3};
  const std::vector<uint8_t> sealed =
      SealDisco(shared, a.pub,
                EncodeDisco(AllocateUdpRelayEndpointRequest{
                    .client_disco = {a.pub, fa::FuzzKey(3).pub}, .generation = 9}),
                &nonce);
  std::vector<uint8_t> junk(kDiscoHeaderLen + kDiscoNonceLen + 40, 0x5a);
  std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), junk.begin());
  std::copy(a.pub.bytes.begin(), a.pub.bytes.end(), junk.begin() + kDiscoMagic.size());
  const uint8_t v6 = 2 << fa::kSourceShift;

  Write(dir, "request", input({request(1, 2, 3)}));
  Write(dir, "request_then_replay", input({request(1, 2, 3), repeat, repeat}));
  Write(dir, "raw_sealed_request", input({{0, sealed}, repeat}));
  Write(dir, "raw_junk_allowed_sender", input({{0, junk}}));
  Write(dir, "stranger", input({request(3, 4, 2)}));
  Write(dir, "bad_keys",
        input({request(1, 2, 7), request(1, 2, 8), request(1, 2, 2), request(1, 2, 1),
               request(1, 5, 6)}));
  Write(dir, "peers_and_sessions",
        input({request(1, 2, 5), request(2, 3, 5), request(2, 3, 6), request(1, 2, 6),
               request(2, 2, 3)}));
  Write(dir, "v6_source_quota",
        input({request(1, 2, 3, v6), request(2, 3, 6, v6 | 0x04), request(1, 2, 6, v6)}));
  Write(dir, "no_addrs_then_retry",
        input({request(1, 2, 3, fa::kNoAddrs), repeat, request(1, 2, 3),
               request(1, 2, 3, fa::kTick)}));
  std::vector<Record> flood;
  for (int i = 0; i < 12; ++i) {
    flood.push_back(request(2, 3, 6, i % 4 == 3 ? fa::kTick : 0));
  }
  Write(dir, "reply_flood", input(flood));
  std::vector<Record> spread;  // three sources at their limit together pass the global one
  for (int i = 0; i < 12; ++i) {
    spread.push_back(request(1, 2, 3, static_cast<uint8_t>((i % 3) << fa::kSourceShift)));
  }
  Write(dir, "global_reply_limit", input(spread));
  std::vector<Record> rate(51, request(1, 2, 3));  // key 2 allows 50 a second
  Write(dir, "key_rate", input(rate));
  std::vector<Record> v6_rate(21, request(2, 3, 2, v6));  // the /64 allows 20 a second
  Write(dir, "source_rate", input(v6_rate));
  std::vector<uint8_t> zero_sender = sealed;
  std::fill(zero_sender.begin() + 6, zero_sender.begin() + 6 + kKeyLen, 0);
  Write(dir, "zero_sender", input({{0, zero_sender}}));
  Write(dir, "not_request", input({{1, EncodeDisco(Ping{})}, {2, {0x08, 0x01}}}));
}

}  // namespace

int GenerateCorpus(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s VECTORS_DIR CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path vectors = argv[1];
  const fs::path corpus = argv[2];
  auto clear = Cleartext(vectors);
  auto sealed = Sealed(vectors);
  if (clear.empty() || sealed.empty()) {
    std::fprintf(stderr, "no vectors found in %s\n", argv[1]);
    return 1;
  }
  constexpr const char* kPayloads[] = {"Full UDP payload Bind A->S",
                                       "Full UDP payload Challenge S->A",
                                       "Full UDP payload Answer A->S"};

  // fuzz_disco_parse: every cleartext vector plus a Ping carrying a node key.
  for (const auto& [name, b] : clear) {
    if (name.rfind("geneve_", 0) != 0) {
      Write(corpus / "fuzz_disco_parse", name, b);
    }
  }
  Write(corpus / "fuzz_disco_parse", "handshake_challenge", sealed["Challenge cleartext"]);
  Ping ping{.node_key = KeyPairFromPrivate(DiscoPrivateKey{}).pub, .padding = 2};
  Write(corpus / "fuzz_disco_parse", "ping_nodekey_padding_2", EncodeDisco(ping));

  // fuzz_geneve: the header vectors, the full handshake payloads and a STUN binding request.
  for (const auto& [name, b] : clear) {
    if (name.rfind("geneve_", 0) == 0) {
      Write(corpus / "fuzz_geneve", name, b);
    }
  }
  Write(corpus / "fuzz_geneve", "bind_payload", sealed[kPayloads[0]]);
  std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
  stun.resize(20, 0x5a);
  Write(corpus / "fuzz_geneve", "stun_binding_request", stun);

  // fuzz_disco_open: the three framed payloads and their bare wrappers; they open with the
  // target's fixed key, shared(A, S).
  for (const char* p : kPayloads) {
    const std::vector<uint8_t>& b = sealed[p];
    Write(corpus / "fuzz_disco_open", p, b);
    Write(corpus / "fuzz_disco_open", std::string(p) + " wrapper",
          std::vector<uint8_t>(b.begin() + kGeneveHeaderLen, b.end()));
  }

  // fuzz_ipc_decode: one encoding of each message.
  DiscoKey k1 = KeyPairFromPrivate(DiscoPrivateKey{{1}}).pub;
  DiscoKey k2 = KeyPairFromPrivate(DiscoPrivateKey{{2}}).pub;
  const std::pair<const char*, ipc::Message> ipc_seeds[] = {
      {"hello", ipc::Hello{.relay_addrs = {Ap("192.0.2.1:41641"), Ap("[2001:db8::1]:41641")},
                           .capacity = 65536}},
      {"install_session", ipc::InstallSession{.vni = 7,
                                              .client_keys = SortedPair(k1, k2),
                                              .shared = {},
                                              .server_key = k1,
                                              .bind_lifetime_ns = 30'000'000'000,
                                              .steady_state_lifetime_ns = 300'000'000'000,
                                              .bound = {Ap("198.51.100.1:5"), AddrPort{}}}},
      {"remove_session", ipc::RemoveSession{.vni = 7}},
      {"install_result", ipc::InstallResult{.vni = 7, .ok = false, .error = "no room"}},
      {"leg_bound", ipc::LegBound{.vni = 7, .leg = 1, .addr = Ap("[2001:db8::9]:9")}},
      {"session_expired", ipc::SessionExpired{.vni = 7}},
      {"dump_request", ipc::DumpRequest{.request_id = 1, .from_vni = 7}},
      {"dump_reply", ipc::DumpReply{.request_id = 1,
                                    .sessions = {ipc::SessionRecord{
                                        .vni = 7, .bound = {Ap("192.0.2.1:41641"), AddrPort{}}}},
                                    .next_vni = 0}},
      {"stats_request", ipc::StatsRequest{}},
      {"stats_reply", ipc::StatsReply{.nic = {{.port = 0, .name = "rx_good_packets", .value = 1}}}},
  };
  for (const auto& [name, m] : ipc_seeds) {
    Write(corpus / "fuzz_ipc_decode", name, ipc::Encode(m));
  }

  // fuzz_text: one of each accepted form and a few near misses.
  const std::pair<const char*, std::string> text_seeds[] = {
      {"v4", "192.0.2.1:41641"},
      {"v6", "[2001:db8::1]:41641"},
      {"v6_mapped", "[::ffff:1.2.3.4]:80"},
      {"ip_only", "fe80::1"},
      {"bad_port", "1.2.3.4:65536"},
      {"discokey", FormatDiscoKey(k1)},
      {"privkey", FormatPrivateKey(DiscoPrivateKey{{1}})},
  };
  for (const auto& [name, text] : text_seeds) {
    Write(corpus / "fuzz_text", name, Bytes(text));
  }
  WriteAllocatorSeeds(corpus / "fuzz_allocator");
  return 0;
}

}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::GenerateCorpus(argc, argv); }
