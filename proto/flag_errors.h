// Every problem found while validating a program's flags, each naming its flag, so that
// `--check` can print them all (one line each) instead of stopping at the first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace dprelay {

struct FlagError {
  std::string flag;     // without dashes, e.g. "listen"
  std::string message;  // what is wrong, without the flag name
};

class FlagErrors {
 public:
  void Add(absl::string_view flag, absl::string_view message) {
    errors_.push_back({std::string(flag), std::string(message)});
  }
  bool empty() const { return errors_.empty(); }
  const std::vector<FlagError>& errors() const { return errors_; }

  // "--flag: message", or the message alone when it already begins with "--flag" (errors
  // of shared parsers name their flag themselves, often with its value).
  static std::string Line(const FlagError& e) {
    const std::string name = absl::StrCat("--", e.flag);
    if (e.message.compare(0, name.size(), name) == 0) {
      return e.message;
    }
    return absl::StrCat(name, ": ", e.message);
  }

  // One line per error; OkStatus when there are none.
  absl::Status ToStatus() const {
    if (errors_.empty()) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrJoin(
        errors_, "\n", [](std::string* out, const FlagError& e) { out->append(Line(e)); }));
  }

 private:
  std::vector<FlagError> errors_;
};

}  // namespace dprelay
