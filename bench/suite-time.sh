#!/bin/sh
# The suite's time as CI takes it: a fresh clone of REF (default: HEAD of this clone) in a new
# folder, then `.ci/run` there with CI=true. Prints the wall-clock seconds, pytest's closing line
# and its slowest tests; the whole output stays in the clone's ci.log.
#   bench/suite-time.sh [REF]
# Boxes already built on this host are found (their recipe unchanged); to measure a host that has
# none, run `invoke down --host-daemon` and remove the host folder (/var/lib/nslab) first.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-HEAD}
clone=$(mktemp -d /tmp/nslab-suite-XXXXXX)
# qemu runs as libvirt-qemu and reads the VM box from the clone: mktemp made it 0700.
chmod 755 "$clone"
git clone -q "$here" "$clone"
git -C "$clone" checkout -q "$(git -C "$here" rev-parse "$ref")"
echo "suite-time: $(git -C "$clone" log --oneline -1) in $clone"
start=$(date +%s)
status=0
(cd "$clone" && CI=true bash .ci/run </dev/null >"$clone/ci.log" 2>&1) || status=$?
seconds=$(( $(date +%s) - start ))
echo "suite-time: .ci/run exited $status after ${seconds}s ($((seconds / 60)) min $((seconds % 60)) s)"
grep -E '^=+ .*(passed|failed).* =+$' "$clone/ci.log" | tail -1 || true
sed -n '/slowest 25 durations/,/^$/p' "$clone/ci.log" | head -28
exit $status
