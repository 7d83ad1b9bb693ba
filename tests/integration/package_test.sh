#!/usr/bin/env bash
# Integration: the .deb as an operator installs it. scripts/package.sh builds it from the
# existing build directory (no recompilation); lintian finds no error; mmdebstrap makes a
# throwaway Debian bookworm root with the package and its dependencies installed through apt
# (the host's /var/cache/apt/archives serves what it has); inside that root the dprelay user
# and groups exist, the conffiles are in place with safe modes, every program's --version and
# --help work, the man pages are there, and `systemd-analyze verify` accepts the installed
# units. The root is removed on exit, on failure too.
#   package_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "package_test: needs root (mmdebstrap in root mode, chroot)"; exit 1; }
for tool in mmdebstrap lintian systemd-analyze cpack; do
  command -v "$tool" >/dev/null || { echo "package_test: needs $tool (scripts/setup.sh)"; exit 1; }
done
WORK=$(mktemp -d /tmp/dprelay-package.XXXXXX)
TARGET="$WORK/root"
cleanup() {
  # Nothing is mounted inside once mmdebstrap has returned; make sure before removing.
  if [ -d "$TARGET" ] && grep -q " $TARGET/" /proc/mounts; then
    grep " $TARGET/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

t0=$(date +%s)
DEB=$("$ROOT/scripts/package.sh" "$BUILD" 2>"$WORK/package.log")
rc=$?
check "scripts/package.sh builds a .deb" test "$rc" -eq 0 -a -f "$DEB"
[ "$rc" -eq 0 ] || { tail -n 20 "$WORK/package.log"; finish; }
echo "  $DEB ($(du -k "$DEB" | cut -f1) KiB) in $(( $(date +%s) - t0 )) s"
dpkg-deb --info "$DEB" | sed -n 's/^ \(Depends\|Version\|Installed-Size\):/  \1:/p'

lintian --fail-on error --no-tag-display-limit "$DEB" >"$WORK/lintian.log" 2>&1
rc=$?
sed 's/^/  lintian| /' "$WORK/lintian.log"
check "lintian: no error" test "$rc" -eq 0
check "the binaries are stripped" \
  bash -c "dpkg-deb --fsys-tarfile '$DEB' | tar -xO ./usr/sbin/dprelay-control | file - | grep -q ', stripped'"
check "the conffiles are /etc/dprelay's" bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | \
  diff - <(printf '%s\n' /etc/dprelay/control.flags /etc/dprelay/dataplane.flags /etc/dprelay/policy)"

# A bookworm root with the package: the Essential set, systemd (what runs the units, and
# whose targets `systemd-analyze verify` resolves them against), then apt resolves the .deb's
# Depends (file-mirror-automount makes the .deb visible inside for dpkg). The host's apt
# cache is hard-linked in first (same file system; mmdebstrap's cleanup removes only the
# links), so only what it lacks is downloaded; unsafe-io spares the fsyncs of a root that is
# thrown away.
t0=$(date +%s)
mmdebstrap --variant=essential --mode=root --format=directory \
  --include=systemd --include="$DEB" --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --dpkgopt=force-unsafe-io \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook='find /var/cache/apt/archives -maxdepth 1 -name "*.deb" -exec cp -al -t "$1/var/cache/apt/archives" {} + 2>/dev/null || true' \
  bookworm "$TARGET" >"$WORK/mmdebstrap.log" 2>&1
rc=$?
check "mmdebstrap: a bookworm root with the .deb and its dependencies" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 30 "$WORK/mmdebstrap.log"; finish; }
echo "  root filesystem in $(( $(date +%s) - t0 )) s"
in_root() { chroot "$TARGET" "$@"; }

check "user dprelay: system uid, group dprelay, home /var/lib/dprelay, no shell" \
  bash -c "in_root() { chroot '$TARGET' \"\$@\"; }; e=\$(in_root getent passwd dprelay) && \
    IFS=: read -r _ _ uid gid _ home shell <<<\"\$e\" && [ \$uid -lt 1000 ] && \
    [ \"\$(in_root getent group dprelay | cut -d: -f3)\" = \"\$gid\" ] && \
    [ \"\$home\" = /var/lib/dprelay ] && [ \"\$shell\" = /usr/sbin/nologin ]"
check "group dprelay-operators exists (system gid)" \
  bash -c "g=\$(chroot '$TARGET' getent group dprelay-operators | cut -d: -f3) && [ -n \"\$g\" ] && [ \"\$g\" -lt 1000 ]"
for f in control.flags dataplane.flags; do
  check "/etc/dprelay/$f: root:root 0644" test "$(stat -c '%U:%G %a' "$TARGET/etc/dprelay/$f")" = "root:root 644"
done
check "/etc/dprelay/policy: root:dprelay 0640 (dpkg-statoverride)" \
  test "$(chroot "$TARGET" stat -c '%U:%G %a' /etc/dprelay/policy)" = "root:dprelay 640"
check "the packaged dataplane.flags lets control's group reach the IPC socket" \
  grep -qx -- '--ipc_group=dprelay' "$TARGET/etc/dprelay/dataplane.flags"
check "the packaged control.flags opens the admin socket to dprelay-operators" \
  grep -qx -- '--admin_group=dprelay-operators' "$TARGET/etc/dprelay/control.flags"
check "/etc/dprelay: root:root 0755" test "$(stat -c '%U:%G %a' "$TARGET/etc/dprelay")" = "root:root 755"

VERSION=$("$BUILD/control/dprelay-control" --version | awk '{print $2}')
for prog in /usr/sbin/dprelay-control /usr/sbin/dprelay-dataplane /usr/bin/dprelayctl /usr/bin/dprelay-peer; do
  name=${prog##*/}
  out=$(in_root "$prog" --version 2>&1)
  rc=$?
  check "$prog --version in the root: '$out'" test "$rc" -eq 0 -a "${out%% (DPDK *}" = "$name $VERSION"
  # What each --help must show: a flag of its own (gflags' list), or dprelayctl's commands.
  help=(--help)
  case $name in
    dprelay-control) want='--policy=STRING' ;;
    dprelay-dataplane) want='--eal_args=STRING' ;;
    dprelayctl) want='usage: dprelayctl' ;;
    dprelay-peer) want='usage' ;;
  esac
  in_root "$prog" "${help[@]}" >"$WORK/$name.help" 2>&1
  rc=$?
  check "$prog ${help[*]} in the root: exit 0, shows '$want'" \
    bash -c "[ $rc -eq 0 ] && grep -qF -- '$want' '$WORK/$name.help'"
done
for page in man8/dprelay-control.8 man8/dprelay-dataplane.8 man8/dprelayctl.8 man1/dprelay-peer.1; do
  check "man page /usr/share/man/$page.gz" \
    bash -c "zcat '$TARGET/usr/share/man/$page.gz' | grep -q '^\.SH' "
done

check "dprelayctl's bash completion is installed and completes its commands" \
  bash -c "source '$TARGET/usr/share/bash-completion/completions/dprelayctl' &&
           COMP_WORDS=(dprelayctl cou); COMP_CWORD=1; _dprelayctl; [ \"\${COMPREPLY[*]}\" = counters ]"
check "the alert rules and the dashboard are among the examples" \
  test -s "$TARGET/usr/share/doc/dprelay/examples/prometheus-alerts.yml" -a \
       -s "$TARGET/usr/share/doc/dprelay/examples/grafana-dashboard.json"

# --check on the packaged configuration: control's is complete (an empty policy is a warning);
# the dataplane's names the flags the operator must still set, and passes once they are.
in_root /usr/sbin/dprelay-control --flagfile=/etc/dprelay/control.flags --check >"$WORK/c.check" 2>&1
rc=$?
sed 's/^/  check| /' "$WORK/c.check"
check "dprelay-control --check on the packaged control.flags: exit 0, configuration OK" \
  bash -c "[ $rc -eq 0 ] && grep -q 'configuration OK' '$WORK/c.check' && [ ! -e '$TARGET/var/lib/dprelay/control.key' ]"
in_root /usr/sbin/dprelay-dataplane --flagfile=/etc/dprelay/dataplane.flags --check >"$WORK/d.check" 2>&1
rc=$?
sed 's/^/  check| /' "$WORK/d.check"
check "dprelay-dataplane --check on the packaged dataplane.flags: exit 1 naming --port and --address" \
  bash -c "[ $rc -eq 1 ] && grep -q 'default: --port: required' '$WORK/d.check' &&
           grep -q 'default: --address: required' '$WORK/d.check'"
cp "$TARGET/etc/dprelay/dataplane.flags" "$TARGET/etc/dprelay/dataplane.test.flags"
printf -- '--port=af_packet:lo\n--address=192.0.2.10/24\n--eal_args=-l 0 --no-huge\n' \
  >>"$TARGET/etc/dprelay/dataplane.test.flags"
in_root /usr/sbin/dprelay-dataplane --flagfile=/etc/dprelay/dataplane.test.flags --check >"$WORK/d.check" 2>&1
rc=$?
sed 's/^/  check| /' "$WORK/d.check"
check "dprelay-dataplane --check once --port, --address and --eal_args are filled in: exit 0" \
  bash -c "[ $rc -eq 0 ] && grep -q 'af_packet on lo' '$WORK/d.check'"

for unit in dprelay-control.service dprelay-dataplane.service; do
  systemd-analyze verify --man=no --root="$TARGET" "$TARGET/usr/lib/systemd/system/$unit" \
    >"$WORK/verify.log" 2>&1
  rc=$?
  sed 's/^/  verify| /' "$WORK/verify.log"
  check "systemd-analyze verify $unit: exit 0, nothing said" test "$rc" -eq 0 -a ! -s "$WORK/verify.log"
  score=$(systemd-analyze security --offline=yes --root="$TARGET" --no-pager \
    "/usr/lib/systemd/system/$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  echo "  systemd-analyze security $unit: ${score:-?}"
done
finish
