#!/bin/sh
# PID 1 of the test VM (see build-image.sh). Stage 1 copies the initramfs into a tmpfs and
# switches to it: bubblewrap's pivot_root cannot leave the initramfs's own root. Stage 2 mounts
# the kernel file systems with cgroup v2 only, the repository (read-only) and the out folder
# from the host over 9p, runs out/cmd.sh, writes its exit code to out/exit and powers off.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

if [ "${SLIPWAY_VM_STAGE:-1}" = 1 ]; then
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 tmpfs /newroot
  (cd / && tar -cf - --exclude=./newroot .) | tar -xf - -C /newroot
  SLIPWAY_VM_STAGE=2 exec switch_root /newroot /init
fi

mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run/netns /repo /out
mount -t devpts devpts /dev/pts
# Sized past RAM: instances' /tmp images are sparse files here, and the agent refuses one the
# file system could not hold at its full disk_mb (only what is written takes memory).
mount -t tmpfs -o mode=1777,size=64g tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns
mount -t cgroup2 cgroup2 /sys/fs/cgroup
modprobe virtio_pci && modprobe 9pnet_virtio && modprobe 9p
# No udev here to create /dev/loop-control on first use: load loop now, as a booted host has it.
modprobe loop
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro repo /repo
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /out
ip link set lo up
hostname slipway-vm 2>/dev/null || true

echo "slipway-vm: kernel $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
code=1
if [ -f /out/cmd.sh ]; then
  (cd /repo && sh /out/cmd.sh; echo $? > /out/exit.tmp) 2>&1 | tee /out/log
  code=$(cat /out/exit.tmp 2>/dev/null || echo 1)
fi
echo "$code" > /out/exit
sync
echo o > /proc/sysrq-trigger
sleep 60
