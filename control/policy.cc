#include "control/policy.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dprelay::control {
namespace {

// A policy file is a list of keys and rules; refuse something absurd rather than read it all.
constexpr size_t kMaxPolicyFileLen = 64 << 20;
// A rate above this is a typo, and keeps token arithmetic far from overflow.
constexpr double kMaxRate = 1e6;

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

absl::StatusOr<DiscoKey> ParseClientKey(absl::string_view text) {
  absl::StatusOr<DiscoKey> key = ParseDiscoKey(Std(text));
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a discokey: ", key.status().message()));
  }
  if (absl::Status valid = ValidatePeerKey(*key); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unusable key: ", valid.message()));
  }
  return *key;
}

// Parses `max_sessions=N` and `rate=R/s` into quota; false if name is neither.
absl::Status ParseQuotaOption(absl::string_view name, absl::string_view value, Quota* quota,
                              bool* known) {
  *known = true;
  if (name == "max_sessions") {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(value, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_sessions=", value, ": not a non-negative integer"));
    }
    quota->max_sessions = n;
    return absl::OkStatus();
  }
  if (name == "rate") {
    absl::string_view number = value;
    if (!absl::ConsumeSuffix(&number, "/s")) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate=", value, ": expected requests per second, e.g. rate=5/s"));
    }
    double r = 0;
    if (!absl::SimpleAtod(number, &r) || !(r > 0) || r > kMaxRate) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate=", value, ": must be a number in (0, ", kMaxRate, "] per second"));
    }
    quota->rate_per_second = r;
    return absl::OkStatus();
  }
  *known = false;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<AddrPort>> ParseEndpointList(std::string_view std_text) {
  const absl::string_view text(std_text.data(), std_text.size());
  std::vector<AddrPort> out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    absl::StatusOr<AddrPort> ap = ParseAddrPort(Std(item));
    if (!ap.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("endpoint \"", item, "\": ", ap.status().message()));
    }
    ap->ip = CanonicalIp(ap->ip);
    if (!IsUsableSource(ap->ip) || ap->port == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "endpoint \"", item, "\": clients cannot send to an unspecified address or port 0"));
    }
    if (std::find(out.begin(), out.end(), *ap) == out.end()) {
      out.push_back(*ap);
    }
  }
  return out;
}

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
  static std::atomic<uint64_t> last_generation{0};
  Policy policy;
  policy.generation_ = last_generation.fetch_add(1, std::memory_order_relaxed) + 1;
  int default_line = 0;
  int capacity_line = 0;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", line_no, ": ", why));
    };
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      continue;
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    const absl::string_view directive = words[0];

    if (absl::StartsWith(directive, "discokey:") && words.size() == 1) {
      // The original allow-list line: the key, unrestricted.
      absl::StatusOr<DiscoKey> key = ParseClientKey(directive);
      if (!key.ok()) {
        return error(key.status().message());
      }
      auto [it, inserted] = policy.keys_.try_emplace(key->bytes);
      if (inserted) {
        it->second.line = line_no;
      } else if (!it->second.quota.empty() || it->second.peers_restricted) {
        return error(absl::StrCat("key already has a rule on line ", it->second.line));
      }
      continue;
    }

    if (directive == "allow") {
      if (words.size() < 2) {
        return error("allow needs a discokey:<hex>");
      }
      absl::StatusOr<DiscoKey> key = ParseClientKey(words[1]);
      if (!key.ok()) {
        return error(key.status().message());
      }
      KeyRule rule;
      rule.line = line_no;
      for (size_t i = 2; i < words.size(); ++i) {
        std::pair<absl::string_view, absl::string_view> kv =
            absl::StrSplit(words[i], absl::MaxSplits('=', 1));
        if (kv.first == "peers") {
          rule.peers_restricted = true;
          for (absl::string_view p : absl::StrSplit(kv.second, ',')) {
            absl::StatusOr<DiscoKey> peer = ParseClientKey(p);
            if (!peer.ok()) {
              return error(absl::StrCat("peers: ", peer.status().message()));
            }
            rule.peers.insert(peer->bytes);
          }
          continue;
        }
        bool known = false;
        if (absl::Status s = ParseQuotaOption(kv.first, kv.second, &rule.quota, &known); !s.ok()) {
          return error(s.message());
        }
        if (!known) {
          return error(absl::StrCat("unknown option \"", words[i],
                                    "\" (allow takes peers=, max_sessions=, rate=)"));
        }
      }
      if (auto it = policy.keys_.find(key->bytes); it != policy.keys_.end()) {
        return error(absl::StrCat("key already listed on line ", it->second.line));
      }
      policy.keys_.emplace(key->bytes, std::move(rule));
      continue;
    }

    if (directive == "default" || directive == "source") {
      size_t first_option = 1;
      SourceRule source;
      source.line = line_no;
      if (directive == "source") {
        if (words.size() < 2) {
          return error("source needs a prefix, e.g. source 203.0.113.0/24 max_sessions=10");
        }
        absl::StatusOr<IpPrefix> prefix = ParsePrefix(Std(words[1]));
        if (!prefix.ok()) {
          return error(prefix.status().message());
        }
        source.prefix = *prefix;
        first_option = 2;
      } else if (default_line != 0) {
        return error(absl::StrCat("default already set on line ", default_line));
      }
      Quota quota;
      for (size_t i = first_option; i < words.size(); ++i) {
        std::pair<absl::string_view, absl::string_view> kv =
            absl::StrSplit(words[i], absl::MaxSplits('=', 1));
        bool known = false;
        if (absl::Status s = ParseQuotaOption(kv.first, kv.second, &quota, &known); !s.ok()) {
          return error(s.message());
        }
        if (!known) {
          return error(absl::StrCat("unknown option \"", words[i], "\" (", directive,
                                    " takes max_sessions=, rate=)"));
        }
      }
      if (quota.empty()) {
        return error(absl::StrCat(directive, " sets no quota (max_sessions=N and/or rate=R/s)"));
      }
      if (directive == "default") {
        policy.default_quota_ = quota;
        default_line = line_no;
        continue;
      }
      for (const SourceRule& other : policy.sources_) {
        if (other.prefix == source.prefix) {
          return error(absl::StrCat("prefix ", FormatPrefix(source.prefix),
                                    " already has a rule on line ", other.line));
        }
      }
      source.quota = quota;
      policy.sources_.push_back(source);
      continue;
    }

    if (directive == "capacity") {
      uint32_t n = 0;
      if (words.size() != 2 || !absl::SimpleAtoi(words[1], &n) || n == 0) {
        return error("capacity takes one positive integer (live sessions in all)");
      }
      if (capacity_line != 0) {
        return error(absl::StrCat("capacity already set on line ", capacity_line));
      }
      policy.capacity_ = n;
      capacity_line = line_no;
      continue;
    }

    if (directive == "static_endpoint") {
      if (words.size() != 2) {
        return error("static_endpoint takes ip:port[,ip:port...] with no spaces");
      }
      absl::StatusOr<std::vector<AddrPort>> eps = ParseEndpointList(Std(words[1]));
      if (!eps.ok()) {
        return error(eps.status().message());
      }
      for (const AddrPort& ap : *eps) {
        if (std::find(policy.static_endpoints_.begin(), policy.static_endpoints_.end(), ap) ==
            policy.static_endpoints_.end()) {
          policy.static_endpoints_.push_back(ap);
        }
      }
      continue;
    }

    if (absl::StartsWith(directive, "discokey:")) {
      return error(absl::StrCat("unexpected \"", words[1], "\" after the key (options need ",
                                "\"allow discokey:... option=value\")"));
    }
    return error(absl::StrCat("unknown directive \"", directive,
                              "\" (expected discokey:, allow, default, source, capacity or "
                              "static_endpoint)"));
  }
  std::stable_sort(
      policy.sources_.begin(), policy.sources_.end(),
      [](const SourceRule& a, const SourceRule& b) { return a.prefix.length > b.prefix.length; });
  return policy;
}

bool Policy::PeersPermit(const DiscoKey& key, const DiscoKey& peer) const {
  auto it = keys_.find(key.bytes);
  if (it == keys_.end()) {
    return false;
  }
  return !it->second.peers_restricted || it->second.peers.contains(peer.bytes);
}

bool Policy::AllowsPair(const DiscoKey& a, const DiscoKey& b) const {
  return Allows(a) && Allows(b) && PeersPermit(a, b) && PeersPermit(b, a);
}

Quota Policy::KeyQuota(const DiscoKey& key) const {
  Quota q = default_quota_;
  if (auto it = keys_.find(key.bytes); it != keys_.end()) {
    // Field by field: a key's own value replaces the default's.
    if (it->second.quota.max_sessions) {
      q.max_sessions = it->second.quota.max_sessions;
    }
    if (it->second.quota.rate_per_second) {
      q.rate_per_second = it->second.quota.rate_per_second;
    }
  }
  return q;
}

const SourceRule* Policy::MatchSource(const IpAddr& canonical) const {
  for (const SourceRule& rule : sources_) {
    if (rule.prefix.Contains(canonical)) {
      return &rule;
    }
  }
  return nullptr;
}

}  // namespace dprelay::control
