#!/usr/bin/env bash
# Every drop reason of proto/drop_reasons.h is triggered by some test: its counter
# ("drop_<label>") is asserted in a test, or its enum (DropReason::kName) is expected by one.
#   drop_reasons_tested.sh SOURCE_DIR
set -euo pipefail
SRC=${1:?usage: drop_reasons_tested.sh SOURCE_DIR}
missing=0 total=0
while read -r name label; do
  total=$((total + 1))
  if ! grep -rqsF -e "\"drop_$label\"" -e "DropReason::$name)" -e "DropReason::$name," \
      "$SRC/tests/eal" "$SRC/tests/unit" "$SRC/tests/integration"; then
    echo "no test triggers drop reason $label ($name)"
    missing=$((missing + 1))
  fi
done < <(sed -n 's/.*X(\(k[A-Za-z0-9]*\), "\([a-z0-9_]*\)").*/\1 \2/p' "$SRC/proto/drop_reasons.h")
echo "$total drop reasons, $missing without a test"
[ "$total" -gt 30 ] && [ "$missing" -eq 0 ]
