# PASS/FAIL bookkeeping shared by the integration scripts (source it). `check DESCRIPTION
# COMMAND...` runs the command and records the result; `finish` prints "N passed, M failed"
# (the closing line test runners read) and exits non-zero if anything failed.
passed=0 failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "PASS $what"
    passed=$((passed + 1))
  else
    echo "FAIL $what"
    failed=$((failed + 1))
  fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
