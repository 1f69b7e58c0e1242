#!/bin/busybox sh
# Lab only, arm64: /init of the initramfs of every arm64 boot. Loads the virtio
# disk and ext4 modules of Debian's kernel (listed in /modules, in order),
# mounts the root (the disk labelled labroot) and hands it to the init the kernel command line names
# (init=/lab-stage2.sh for the second-stage boot, else /sbin/init: systemd).
# Debian's own initramfs is never built: under TCG that took 27 min, twice.
/bin/busybox mkdir -p /proc /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
for module in $(/bin/busybox cat /modules); do
    /bin/busybox insmod "/$module" || echo "lab-init: insmod $module failed"
done
init=/sbin/init
for arg in $(/bin/busybox cat /proc/cmdline); do
    case "$arg" in
        init=*) init="${arg#init=}" ;;
    esac
done
# By label, not by name: QEMU's virt machine numbers virtio-mmio disks in reverse
# order of the command line, so with a second disk the root is /dev/vdb.
root=
n=0
while [ -z "$root" ] && [ "$n" -lt 300 ]; do
    root=$(/bin/busybox findfs LABEL=labroot 2>/dev/null) || /bin/busybox sleep 0.1
    n=$((n + 1))
done
/bin/busybox mount -t ext4 -o rw "${root:-/dev/vda}" /newroot || echo "lab-init: no root labelled labroot"
/bin/busybox umount /proc
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot "$init"
