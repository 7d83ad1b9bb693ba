#include "drivers/eal_args.h"

#include <rte_pci.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dprelay {
namespace {

// Both spell the same device ("3b:00.1" and "0000:3b:00.1"); devargs after ',' ignored.
bool SamePciDevice(absl::string_view entry, const std::string& address) {
  std::string device(entry.substr(0, entry.find(',')));
  rte_pci_addr a{};
  rte_pci_addr b{};
  return rte_pci_addr_parse(device.c_str(), &a) == 0 &&
         rte_pci_addr_parse(address.c_str(), &b) == 0 && rte_pci_addr_cmp(&a, &b) == 0;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitEalFlag(absl::string_view text) {
  if (text.find_first_of("\"'\\") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s': quotes and backslashes are not supported (separate options by spaces)", text));
  }
  return std::vector<std::string>(absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty()));
}

std::vector<std::string> EalOptionValues(const std::vector<std::string>& args,
                                         absl::string_view short_name,
                                         absl::string_view long_name) {
  std::vector<std::string> values;
  const std::string s = absl::StrCat("-", short_name);
  const std::string l = absl::StrCat("--", long_name);
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    const bool next = i + 1 < args.size();
    if ((!short_name.empty() && a == s) || (!long_name.empty() && a == l)) {
      if (next) {
        values.push_back(args[++i]);
      }
    } else if (!long_name.empty() && absl::ConsumePrefix(&a, l + "=")) {
      values.emplace_back(a);
    } else if (!short_name.empty() && absl::ConsumePrefix(&a, s) && !absl::StartsWith(a, "-")) {
      values.emplace_back(a);
    }
  }
  return values;
}

absl::StatusOr<std::vector<std::string>> ComposeEalArgs(const std::vector<std::string>& command_line,
                                                        absl::string_view eal_flag,
                                                        const PortSpec& port) {
  if (!command_line.empty() && !eal_flag.empty()) {
    return absl::InvalidArgumentError(
        "EAL options are also given on the command line before '--'; give them in one place");
  }
  std::vector<std::string> args = command_line;
  if (!eal_flag.empty()) {
    absl::StatusOr<std::vector<std::string>> words = SplitEalFlag(eal_flag);
    if (!words.ok()) {
      return words.status();
    }
    args = *std::move(words);
  }
  if (port.kind != PortKind::kPci) {
    return args;
  }
  if (std::find(args.begin(), args.end(), "--no-pci") != args.end()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "pci:%s: the EAL options include --no-pci, which hides every PCI device",
        port.arg));
  }
  for (const std::string& blocked : EalOptionValues(args, "b", "block")) {
    if (SamePciDevice(blocked, port.arg)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "pci:%s: the EAL options block this device (-b %s)", port.arg, blocked));
    }
  }
  std::vector<std::string> allowed = EalOptionValues(args, "a", "allow");
  if (std::none_of(allowed.begin(), allowed.end(),
                   [&](const std::string& a) { return SamePciDevice(a, port.arg); })) {
    args.push_back("-a");
    args.push_back(port.arg);
  }
  return args;
}

}  // namespace dprelay
