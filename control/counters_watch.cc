#include "control/counters_watch.h"

#include <unistd.h>

#include <cstdio>
#include <optional>

#include "absl/time/clock.h"
#include "control/admin_client.h"
#include "control/counters_render.h"

namespace dprelay::control {

int WatchCounters(const std::string& socket, absl::Duration timeout, absl::Duration interval,
                  bool json, bool all) {
  const AdminRequest request{.json = true, .command = "counters", .argument = "--all"};
  const bool tty = isatty(STDOUT_FILENO) == 1;
  // The latest sample and the one before it: control refreshes its sample once a second, so
  // two requests may see the same one; rates are taken between different samples.
  std::optional<nlohmann::ordered_json> last, before;
  for (;;) {
    absl::StatusOr<std::string> body = CallAdmin(socket, request, timeout);
    if (!body.ok()) {
      std::fprintf(stderr, "dprelayctl: %s\n", std::string(body.status().message()).c_str());
      return 1;
    }
    if (json) {
      std::fputs(body->c_str(), stdout);
    } else {
      nlohmann::ordered_json now = nlohmann::ordered_json::parse(*body, nullptr, false);
      if (now.is_discarded() || !now.contains("sampled_unix_ms")) {
        std::fprintf(stderr, "dprelayctl: control's counters are not the JSON expected\n");
        return 1;
      }
      if (!last || (*last)["sampled_unix_ms"] != now["sampled_unix_ms"]) {
        before = std::move(last);
        last = now;
      }
      const std::string text =
          RenderCountersText(now, {.all = all, .before = before ? &*before : nullptr});
      std::printf("%sdprelayctl counters, every %s, at %s (Ctrl-C stops)\n%s\n",
                  tty ? "\033[H\033[2J" : "", absl::FormatDuration(interval).c_str(),
                  absl::FormatTime("%H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()).c_str(),
                  text.c_str());
    }
    std::fflush(stdout);
    absl::SleepFor(interval);
  }
}

}  // namespace dprelay::control
