#!/bin/sh
# Builds, once, the minimal Debian bookworm tree the VM install tests deploy: debootstrap minbase
# plus a kernel, GRUB for BIOS, systemd, udev and the tools the Luna initramfs copies from the
# image (sfdisk, wipefs, mkfs.*, blkid, ipmitool). Usage: debian-image.sh CACHE_DIR [MIRROR]
# The tree lands in CACHE_DIR/root, built beside it and renamed when complete; CACHE_DIR/recipe
# holds this script's sha256, so a changed recipe rebuilds. Callers hold a lock (flock).
set -eu
cache="$1"
mirror="${2:-http://deb.debian.org/debian}"
recipe="$(sha256sum "$0" | cut -d' ' -f1)"
if [ -d "$cache/root" ] && [ "$(cat "$cache/recipe" 2>/dev/null)" = "$recipe" ]; then
  exit 0
fi
build="$cache.build-$$"
rm -rf "$build"
mkdir -p "$build"
trap 'rm -rf "$build"' EXIT
include=linux-image-cloud-amd64,grub-pc-bin,grub2-common,systemd-sysv,udev,kmod,e2fsprogs,fdisk,dosfstools,ifupdown,iproute2,ipmitool,zstd,ca-certificates
debootstrap --variant=minbase --include="$include" bookworm "$build/root" "$mirror"
root="$build/root"
# Keep it small: no documentation, manuals, locales or package caches.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/lib/apt/lists/*_Packages "$root"/var/cache/debconf/*-old
# An empty machine-id: each installed node makes its own on first boot.
: > "$root/etc/machine-id"
# What the install needs from the image: the tools the initramfs copies and gpt-simple's script
# calls, GRUB and its config generator (grub-post, chrooted), a kernel with its initrd, an init.
for tool in sbin/sfdisk sbin/wipefs sbin/mkfs.ext4 sbin/mkfs.vfat sbin/blkid sbin/mkswap \
  bin/udevadm usr/bin/ipmitool usr/sbin/grub-install usr/sbin/grub-mkconfig sbin/init; do
  [ -e "$root/$tool" ] || [ -e "$root/usr/$tool" ] || { echo "debian image: /$tool is missing" >&2; exit 1; }
done
ls "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* >/dev/null
echo "$recipe" > "$build/recipe"
rm -rf "$cache"
mv "$build" "$cache"
trap - EXIT
