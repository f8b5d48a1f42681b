#!/usr/bin/env bash
# Makes the Debian bookworm base image from Debian packages, for machines with no image
# registry (`docker pull` fails) but a reachable Debian mirror: debootstrap a minimal root
# file system and `docker import` it. Needs root. Usage: make-base.sh TAG [MIRROR]
# `make-base.sh --tar [MIRROR]` writes the root file system as a tar stream on stdout instead;
# tcplab imports that through its engine connection (src/runtime/lab-image.ts, Runtime.importImage).
set -euo pipefail
tag=${1:?usage: make-base.sh TAG [MIRROR] | make-base.sh --tar [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
if [ "$(id -u)" -ne 0 ]; then
  echo "make-base.sh: debootstrap needs root; run it as root (sudo $0 $*)" >&2
  exit 3
fi
if ! command -v debootstrap >/dev/null; then
  echo "make-base.sh: debootstrap is missing; install it with: apt-get install -y debootstrap" >&2
  exit 3
fi
rootfs=$(mktemp -d /tmp/tcplab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
# Same sources as the official slim image, so apt in the Dockerfile sees updates and security fixes.
cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
if [ "$tag" = "--tar" ]; then
  tar -C "$rootfs" -c .
  exit 0
fi
tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "$tag"
