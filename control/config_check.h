// `dprelay-control --check`: what a start with this configuration would do, without doing
// any of it (no key generated, no directory or socket created, no port bound).
#pragma once

#include <string>
#include <vector>

#include "control/control_config.h"

namespace dprelay::control {

struct ControlCheck {
  std::vector<std::string> errors;  // one line each, naming the file (and line) or directory
  std::string summary;              // what would run, for the operator
};

// Reads the policy file, the state directory and its runtime static endpoints.
ControlCheck CheckControlConfig(const ControlConfig& config);

}  // namespace dprelay::control
