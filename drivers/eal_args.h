// The dataplane's EAL arguments, from one of two places:
//   - DPDK's convention, the command line before "--":  dprelay-dataplane -l 2-3 -- --port=...
//   - the --eal_args flag, so that a flagfile (or the unit's EnvironmentFile) holds the whole
//     configuration:  dprelay-dataplane --flagfile=/etc/dprelay/dataplane.flags
// plus what the port implies: a pci: port adds its own allow-list entry (-a ADDRESS).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "drivers/port_spec.h"

namespace dprelay {

// Splits --eal_args on whitespace. Quotes and backslashes are refused rather than guessed at:
// no EAL option the dataplane needs has a value with spaces.
absl::StatusOr<std::vector<std::string>> SplitEalFlag(absl::string_view text);

// The EAL arguments to run with (without argv[0]). Refuses options given in both places, and a
// PCI port that the options block (--no-pci, -b ADDRESS) or leave out of their own allow list
// is added to it. Errors say what is wrong; the caller names the flag (--eal_args or --port).
absl::StatusOr<std::vector<std::string>> ComposeEalArgs(const std::vector<std::string>& command_line,
                                                        absl::string_view eal_flag,
                                                        const PortSpec& port);

// The value of every occurrence of an EAL option in args: short ("-l 0-1", "-l0-1") and long
// ("--lcores 0-1", "--lcores=0-1") forms.
std::vector<std::string> EalOptionValues(const std::vector<std::string>& args,
                                         absl::string_view short_name, absl::string_view long_name);

}  // namespace dprelay
