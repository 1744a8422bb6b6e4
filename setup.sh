#!/bin/sh
# Installs what nslab needs on a Debian 12 machine (run as root), then runs
# the command given, if any, inside the project's virtualenv:
#   ./setup.sh invoke up scenario=userns
#   ./setup.sh pytest
# Safe to run again: it only installs what is missing.
set -eu
cd "$(dirname "$0")"

packages="vagrant docker.io debootstrap openssh-client busybox-static iptables tar python3-venv chromium"
# VM machines: vagrant-libvirt, libvirt's daemons, qemu, and what builds a VM box.
packages="$packages vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base qemu-system-x86 qemu-utils e2fsprogs iproute2 procps"
# Installers' output goes to a log, shown only when something fails.
mkdir -p .nslab/logs
log=.nslab/logs/setup.log
: > "$log"
quietly() {
  if ! "$@" >>"$log" 2>&1; then
    echo "setup: failed: $*" >&2
    tail -n 40 "$log" >&2
    echo "setup: the whole output is in $log" >&2
    exit 1
  fi
}

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  # Packages must not start services (libvirtd would make its bridge in the
  # host's network namespace); nslab starts what it needs, where it needs it.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    own_policy=yes
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    # Removed however apt-get ends: left behind, it would stop every later package's services.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
  fi
  quietly apt-get update -qq
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  if [ -n "$own_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT INT TERM HUP
  fi
fi

# The virtualenv is rebuilt whenever pyproject.toml or the extras installed from it change.
extras=test,bench,docs
stamp=.venv/.nslab-deps
want=$({ cat pyproject.toml; echo "extras: $extras"; } | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: preparing the virtualenv in .venv (Python packages of pyproject.toml; log: $log)"
  quietly python3 -m venv .venv
  quietly .venv/bin/pip install -q --upgrade pip
  quietly .venv/bin/pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
fi

[ $# -eq 0 ] && exit 0
command=$1; shift
exec ".venv/bin/$command" "$@"
