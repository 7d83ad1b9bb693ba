#include "control/policy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dprelay::control {
namespace {

// A policy file is a list of keys; refuse something absurd rather than read it all.
constexpr size_t kMaxPolicyFileLen = 64 << 20;

}  // namespace

absl::StatusOr<Policy> Policy::LoadFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(path, ": policy file does not exist"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": cannot open policy file: ", err != 0 ? std::strerror(err) : "unknown error"));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  std::string text = std::move(buf).str();
  if (text.size() > kMaxPolicyFileLen) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": policy file larger than ", kMaxPolicyFileLen, " bytes"));
  }
  return Parse(text, path);
}

absl::StatusOr<Policy> Policy::Parse(std::string_view std_text, std::string_view std_name) {
  // Debian's Abseil has its own string_view, distinct from std::string_view.
  const absl::string_view text(std_text.data(), std_text.size());
  const absl::string_view name(std_name.data(), std_name.size());
  Policy policy;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    // Keys never contain '#', so everything after one is a comment.
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      continue;
    }
    absl::StatusOr<DiscoKey> key = ParseDiscoKey(std::string_view(line.data(), line.size()));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", line_no, ": not a discokey: ", key.status().message()));
    }
    if (absl::Status valid = ValidatePeerKey(*key); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", line_no, ": unusable key: ", valid.message()));
    }
    policy.allowed_.insert(key->bytes);
  }
  return policy;
}

}  // namespace dprelay::control
