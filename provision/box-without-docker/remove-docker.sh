#!/bin/sh
# A box without Docker, for `docker: install` (a pristine public box has none):
#   remove-docker.sh ROOTFS
# Runs on a root filesystem build-rootfs.sh made. The engine's packages go; what
# they depend on stays (the suite's own packages, as on a fresh install), and so
# do the vagrant user's docker group and the units' drop-ins, which the packages
# nslab installs later take up.
set -eu
rootfs=$1
chroot "$rootfs" /bin/sh -ec '
  for package in docker.io docker-cli containerd runc tini; do
    if dpkg-query -W -f "\${Status}" "$package" 2>/dev/null | grep -q "install ok installed"; then
      dpkg --purge "$package"
    fi
  done
  ! command -v dockerd'
