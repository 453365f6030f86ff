#!/usr/bin/env bash
# Builds the virtual machine that `npm run test:vm` boots: a Debian kernel and a root file
# system made from Debian packages (bubblewrap, iproute2, nftables, util-linux, e2fsprogs),
# plus this host's node binary, packed as one initramfs. The guest mounts cgroup v2 only, the
# hierarchy current distributions boot with, so the local driver's v2 code runs on a real
# kernel there (this development host is cgroup v1).
#
# Usage: scripts/vm/build-image.sh <out-dir>
# Writes <out-dir>/vmlinuz and <out-dir>/initrd.cpio.gz; needs root, mmdebstrap, cpio, kmod and
# a working `apt-get download` (run `apt-get update` once first).
set -euo pipefail
out=${1:?usage: build-image.sh <out-dir>}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-vm-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

echo "vm image: kernel"
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
(cd "$work" && apt-get download -q "$kpkg" 2>/dev/null) || (cd "$work" && apt-get download "$kpkg")
mkdir "$work/kernel"
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")

echo "vm image: root file system (mmdebstrap, Debian $(. /etc/os-release && echo "$VERSION_CODENAME"))"
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
mmdebstrap --quiet --variant=minbase \
  --include=bubblewrap,iproute2,nftables,util-linux,kmod,procps,e2fsprogs,libstdc++6 \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$(. /etc/os-release && echo "$VERSION_CODENAME")" "$work/root" "$sources"

echo "vm image: modules, node, init"
# Only what the guest needs: virtio and 9p to see the repository, netfilter and veth for the
# instance network, loop and ext4 for disk-backed scratch. The kernel loads them on demand.
kmods="$work/kernel/lib/modules/$kver"
for dir in kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter kernel/net/9p kernel/net/bridge \
  kernel/fs/9p kernel/fs/netfs kernel/fs/fscache kernel/fs/ext4 kernel/fs/jbd2 kernel/fs/mbcache.ko \
  kernel/drivers/virtio kernel/drivers/net/veth.ko kernel/drivers/block/loop.ko kernel/lib kernel/crypto kernel/arch/x86/crypto; do
  [ -e "$kmods/$dir" ] || continue
  mkdir -p "$work/root/lib/modules/$kver/$(dirname "$dir")"
  cp -a "$kmods/$dir" "$work/root/lib/modules/$kver/$(dirname "$dir")/"
done
cp "$kmods"/modules.order "$kmods"/modules.builtin* "$work/root/lib/modules/$kver/"
depmod -b "$work/root" "$kver"
install -m 0755 "$(command -v node)" "$work/root/usr/local/bin/node"
install -m 0755 "$here/guest-init.sh" "$work/root/init"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.new"
(cd "$work/root" && find . -xdev -print0 | cpio --null --create --format=newc --quiet) | gzip -1 > "$out/initrd.cpio.gz.new"
mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$out/initrd.cpio.gz.new" "$out/initrd.cpio.gz"
echo "vm image: $(du -h "$out/initrd.cpio.gz" | cut -f1) initramfs, kernel $kver"
