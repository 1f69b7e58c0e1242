#!/bin/busybox sh
# Lab only, arm64: /init of the initramfs for the second-stage boot, before the
# root holds a kernel's initramfs of its own. Loads the virtio disk and ext4
# modules of Debian's kernel (listed in /modules, in order), mounts the root
# and hands it to /lab-stage2.sh.
/bin/busybox mkdir -p /proc /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
for module in $(/bin/busybox cat /modules); do
    /bin/busybox insmod "/$module" || echo "lab-init: insmod $module failed"
done
n=0
while [ ! -b /dev/vda ] && [ "$n" -lt 300 ]; do
    /bin/busybox sleep 0.1
    n=$((n + 1))
done
/bin/busybox mount -t ext4 -o rw /dev/vda /newroot || echo "lab-init: no root on /dev/vda"
/bin/busybox umount /proc
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /lab-stage2.sh
