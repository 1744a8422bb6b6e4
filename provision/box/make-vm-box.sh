#!/bin/sh
# Turns a VM root filesystem (build-rootfs.sh ... vm) into a vagrant-libvirt box.
#   make-vm-box.sh ROOTFS BOXFILE RECIPE
# The box holds a qcow2 disk with one ext4 filesystem (no partition table, no
# boot loader) and the kernel and initrd, booted directly by qemu.
set -eu
rootfs=$1 boxfile=$2 recipe=$3
size_gb=8
work=$(dirname "$boxfile")/vm-box.$$
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

kernel=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$rootfs"/boot/initrd.img-* | sort -V | tail -n 1)
# Debian keeps the kernel readable by root only; qemu runs as libvirt-qemu.
install -m 0644 "$kernel" "$work/vmlinuz"
install -m 0644 "$initrd" "$work/initrd.img"

# A sparse file: only the blocks the root filesystem uses are written.
mkfs.ext4 -q -F -L nslab-root -d "$rootfs" "$work/root.ext4" "${size_gb}G"
qemu-img convert -O qcow2 "$work/root.ext4" "$work/box.img"
rm -f "$work/root.ext4"

printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s, "nslab_recipe": "%s"}\n' \
  "$size_gb" "$recipe" > "$work/metadata.json"
# Read by Vagrant with the project's Vagrantfile: the box boots its own kernel.
cat > "$work/Vagrantfile" <<'VAGRANTFILE'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.kernel = File.join(__dir__, "vmlinuz")
    libvirt.initrd = File.join(__dir__, "initrd.img")
    libvirt.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"
  end
end
VAGRANTFILE

tar -C "$work" -cf "$boxfile.part" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$boxfile.part" "$boxfile"
