#!/bin/sh
# Builds the root filesystem of a lab machine from Debian packages only.
#   build-rootfs.sh SUITE MIRROR ROOTFS VAGRANT_PUBKEY [INIT [LAYOUT [EXTRA_PACKAGES [KIND]]]]
# INIT: systemd (default) or sysvinit. LAYOUT: debian (default) or boot2docker,
# a stand-in with boot2docker's daemon layout (profile + init script, baked
# dockremap range) on a Debian base. KIND: container (default), a machine run
# by Vagrant's docker provider, or vm, a machine with a kernel of its own
# (systemd only) for the libvirt provider.
# The result is a machine with sshd, sudo and a Docker daemon, reached as user
# "vagrant" with Vagrant's well-known key, like a public Vagrant box.
# Everything this file does is part of the box recipe: editing it changes the
# recipe hash and makes nslab rebuild the box.
set -eu
suite=$1 mirror=$2 rootfs=$3 pubkey=$4 init=${5:-systemd} layout=${6:-debian} extra=${7:-} kind=${8:-container}
here=$(cd "$(dirname "$0")" && pwd)

packages=openssh-server,sudo,docker.io,docker-registry,busybox-static,iproute2,procps,iptables,passwd,ca-certificates
case $init in
  systemd) packages="systemd,systemd-sysv,$packages" ;;
  sysvinit) packages="sysvinit-core,$packages" ;;
  *) echo "build-rootfs.sh: unknown init '$init'" >&2; exit 2 ;;
esac
[ -n "$extra" ] && packages="$packages,$extra"
case $kind in
  container) ;;
  # A VM boots its own kernel. Debian's kernel enables AppArmor, and without
  # the apparmor package every `docker run` fails; udev names and readies eth0.
  vm) [ "$init" = systemd ] || { echo "build-rootfs.sh: a vm box needs systemd" >&2; exit 2; }
      packages="$packages,linux-image-amd64,initramfs-tools,zstd,apparmor,udev,kmod,e2fsprogs,dbus" ;;
  *) echo "build-rootfs.sh: unknown kind '$kind'" >&2; exit 2 ;;
esac

# An empty mirror leaves debootstrap its own default.
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" ${mirror:+"$mirror"}

in_root() { chroot "$rootfs" /bin/sh -ec "$1"; }

# The lab user: uid 1000 (the lab's "-u 1000" is this user on the host), in the
# docker group, passwordless sudo as Vagrant expects. useradd gives it the first
# subordinate id range, exactly as on a real Ubuntu or Debian host.
in_root 'useradd --create-home --uid 1000 --shell /bin/bash --groups sudo,docker vagrant'
printf 'vagrant ALL=(ALL) NOPASSWD:ALL\nDefaults:vagrant !requiretty\n' > "$rootfs/etc/sudoers.d/vagrant"
chmod 0440 "$rootfs/etc/sudoers.d/vagrant"
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$pubkey" "$rootfs/home/vagrant/.ssh/authorized_keys"

# Host keys are made per machine at first boot (nslab-init), never shared by all boxes.
rm -f "$rootfs"/etc/ssh/ssh_host_*
printf 'UseDNS no\nPasswordAuthentication no\n' > "$rootfs/etc/ssh/sshd_config.d/nslab.conf"

install -m 0755 "$here/nslab-init" "$rootfs/usr/local/sbin/nslab-init"

if [ "$kind" = vm ]; then
  # Booted straight from the box's kernel and initrd with root=/dev/vda; the
  # one NIC (net.ifnames=0: eth0) takes its address from libvirt's DHCP.
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$rootfs/etc/fstab"
  echo nslab-vm > "$rootfs/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 nslab-vm\n' > "$rootfs/etc/hosts"
  printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n' > "$rootfs/etc/systemd/network/20-eth0.network"
  # Host keys are made at first boot, before sshd checks its configuration.
  install -m 0644 "$here/nslab-hostkeys.service" "$rootfs/etc/systemd/system/nslab-hostkeys.service"
  in_root 'systemctl enable systemd-networkd.service nslab-hostkeys.service >/dev/null 2>&1'
  # Debian's own registry service would take port 5000 from the lab's registry container.
  for unit in docker-registry.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  in_root 'systemctl set-default multi-user.target >/dev/null 2>&1'
elif [ "$init" = systemd ]; then
  # The host's hard limit on open files is below what Debian's units ask for;
  # systemd would refuse to start them (status 205/LIMITS).
  for unit in docker containerd; do
    install -d "$rootfs/etc/systemd/system/$unit.service.d"
    printf '[Service]\nLimitNOFILE=16384\n' > "$rootfs/etc/systemd/system/$unit.service.d/nslab-limits.conf"
  done
  # Units that have nothing to do in a container, and Debian's own registry
  # service, which would take port 5000 from the lab's registry container.
  for unit in docker-registry.service systemd-logind.service getty@tty1.service \
              console-getty.service systemd-udevd.service systemd-remount-fs.service \
              sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
              apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  in_root 'systemctl set-default multi-user.target >/dev/null 2>&1'
else
  # No consoles in a container: gettys would respawn forever.
  sed -i '/getty/d' "$rootfs/etc/inittab"
  in_root 'update-rc.d docker-registry disable >/dev/null 2>&1 || true'
  # The init script's limits are above the host's hard limits, and it stops at
  # the first ulimit that fails.
  sed -i -e 's/ulimit -n 1048576/ulimit -n 16384/' \
         -e 's/^\([[:space:]]*\)ulimit \(.*\)$/\1ulimit \2 2>\/dev\/null || true/' "$rootfs/etc/init.d/docker"
fi

if [ "$layout" = boot2docker ]; then
  # boot2docker keeps daemon arguments in this profile, sourced by its init
  # script, and ships dockremap with the range 165536:65536.
  install -d "$rootfs/var/lib/boot2docker"
  printf 'EXTRA_ARGS=""\n' > "$rootfs/var/lib/boot2docker/profile"
  install -m 0755 "$here/boot2docker-docker.init" "$rootfs/etc/init.d/docker"
  in_root 'useradd --system --no-create-home --shell /bin/false dockremap'
  printf 'dockremap:165536:65536\n' >> "$rootfs/etc/subuid"
  printf 'dockremap:165536:65536\n' >> "$rootfs/etc/subgid"
fi

# Smaller box: no package lists or caches are needed inside a machine.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
echo "nslab-box $suite $init $layout $kind" > "$rootfs/etc/nslab-box"
