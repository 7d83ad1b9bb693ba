#!/usr/bin/env bash
# conf/dprelayctl.bash-completion is what the admin command table generates today (so it cannot
# go stale), and it completes commands, their words and their options in bash.
#   dprelayctl_completion_test.sh DPRELAYCTL COMPLETION_FILE
set -uo pipefail
CTL=${1:?usage: dprelayctl_completion_test.sh DPRELAYCTL COMPLETION_FILE}
FILE=${2:?usage: dprelayctl_completion_test.sh DPRELAYCTL COMPLETION_FILE}
failed=0
fail() { echo "FAIL: $*"; failed=1; }

if ! diff -u "$FILE" <("$CTL" --print_bash_completion); then
  fail "$FILE differs from the table: regenerate it with dprelayctl --print_bash_completion"
fi
# shellcheck source=/dev/null
source "$FILE"
complete -p dprelayctl >/dev/null || fail "no completion registered for dprelayctl"
# What bash would offer after the words given (the last one being completed).
offer() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _dprelayctl 2>/dev/null  # compopt complains outside a real completion; harmless
  echo "${COMPREPLY[*]}"
}
expect() {  # expect "WANT" WORDS...
  local want=$1 got
  shift
  got=$(offer "$@")
  [ "$got" = "$want" ] || fail "'$*': offered '$got', want '$want'"
}
expect "evict" dprelayctl ev
expect "status sessions set" dprelayctl s
expect "--format=" dprelayctl --json sessions --f
expect "--evict-removed" dprelayctl reload --
expect "static-endpoints" dprelayctl set s
expect "--key= --client= --vni= --format=" dprelayctl sessions ''
[ "$failed" -eq 0 ] && echo "PASS: dprelayctl completion"
exit "$failed"
