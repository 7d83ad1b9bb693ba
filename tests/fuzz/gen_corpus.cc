// Regenerates the committed seed corpora under tests/fuzz/corpus/ from the shared vectors and
// from round-trip encodings. Not run by the build; run it by hand after changing a codec:
//   fuzz_gen_corpus ../shared/vectors tests/fuzz/corpus
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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
      {"stats_reply", ipc::StatsReply{.counters = {{"rx_packets", 10}, {"drops", 1}}}},
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
  return 0;
}

}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::GenerateCorpus(argc, argv); }
