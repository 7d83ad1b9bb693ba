// Readers for the test vector files (tests/vectors, DPRELAY_VECTORS_DIR). The hex lives only in
// those files; tests load it at run time.
#pragma once

#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dprelay::testing {

inline std::string VectorPath(const std::string& file) {
  return std::string(DPRELAY_VECTORS_DIR) + "/" + file;
}

// Hex digits with any whitespace in between; fails the test on anything else.
inline std::vector<uint8_t> FromHex(const std::string& text) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      continue;
    }
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
            : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                        : -1;
    EXPECT_GE(v, 0) << "bad hex character '" << c << "' in " << text;
    if (v < 0) {
      return {};
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits in " << text;
  return out;
}

// cleartext_messages.txt: "name<TAB>hex" lines, '#' comments. Keeps file order.
inline std::vector<std::pair<std::string, std::vector<uint8_t>>> LoadCleartextVectors() {
  std::ifstream f(VectorPath("cleartext_messages.txt"));
  EXPECT_TRUE(f.good()) << "cannot open " << VectorPath("cleartext_messages.txt");
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << "no tab in vector line: " << line;
    if (tab == std::string::npos) {
      continue;
    }
    out.emplace_back(line.substr(0, tab), FromHex(line.substr(tab + 1)));
  }
  return out;
}

// sealed_handshake.txt: "label [(note)] (N bytes):" then indented hex lines. Returns label -> bytes
// and checks each block has the announced length.
inline std::map<std::string, std::vector<uint8_t>> LoadSealedVectors() {
  std::ifstream f(VectorPath("sealed_handshake.txt"));
  EXPECT_TRUE(f.good()) << "cannot open " << VectorPath("sealed_handshake.txt");
  std::map<std::string, std::vector<uint8_t>> out;
  std::map<std::string, size_t> announced;
  std::string line;
  std::string label;
  std::string hex;
  auto flush = [&] {
    if (!label.empty()) {
      out[label] = FromHex(hex);
    }
    label.clear();
    hex.clear();
  };
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line[0] == ' ') {
      hex += line;
      continue;
    }
    flush();
    // "clientA priv (0x11*32 clamped) (32 bytes):" -> label "clientA priv", 32 bytes.
    size_t first = line.find(" (");
    size_t last = line.rfind(" (");
    EXPECT_NE(first, std::string::npos) << "unexpected line: " << line;
    if (first == std::string::npos) {
      continue;
    }
    label = line.substr(0, first);
    announced[label] = std::stoul(line.substr(last + 2));
  }
  flush();
  for (const auto& [name, bytes] : out) {
    EXPECT_EQ(bytes.size(), announced[name]) << name;
  }
  return out;
}

}  // namespace dprelay::testing
