#!/bin/sh
# Lab only, arm64: PID 1 of the one boot that finishes `debootstrap --foreign`
# in the guest (the host cannot run arm64 code). The lab's initramfs mounted
# the root read-write and handed over; this ends by powering the guest off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
# No initramfs from Debian's kernel package: every arm64 boot uses the lab's
# own (arm64-init.sh). Its postinst hook skips on INITRD=No, and the trigger of
# initramfs-tools then finds no initrd.img to update.
INITRD=No /debootstrap/debootstrap --second-stage
rc=$?
if [ "$rc" -eq 0 ]; then
    apt-get clean
    rm -f /lab-stage2.sh
fi
sync
mount -o remount,ro /
echo "lab-stage2: done rc=$rc"
echo o >/proc/sysrq-trigger
sleep 60
