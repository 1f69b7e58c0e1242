#!/bin/bash -e
# pi-gen: install the checkpoint scanner into the image with the same
# installer a technician runs on a live unit. The read-only root is left off:
# `device init` must write the config first, on the unit (see README).
# ROOTFS_DIR and on_chroot come from pi-gen; the working directory is this
# sub-stage, whose files/ prepare.sh filled.
set -euo pipefail
# shellcheck disable=SC2154 # ROOTFS_DIR is set by pi-gen
ROOT=${ROOTFS_DIR}
BUILD=/tmp/checkpoint-build

wheels=(files/checkpoint_scanner-*.whl)
[[ -f ${wheels[0]} ]] || { echo "no wheel in files/: run firmware/pi-gen/prepare.sh" >&2; exit 1; }
rm -rf "${ROOT}${BUILD}"
mkdir -p "${ROOT}${BUILD}"
cp -r files/payload "${ROOT}${BUILD}/payload"
cp "${wheels[0]}" "${ROOT}${BUILD}/"
wheel=$(basename "${wheels[0]}")

on_chroot <<CHROOT
bash "${BUILD}/payload/firmware/install.sh" --no-overlay --source "${BUILD}/${wheel}"
CHROOT
rm -rf "${ROOT}${BUILD}"

# The image is the same for every unit: no device identity, no config, no
# credentials. Fail the build if the installer ever leaves any.
if [[ -n $(ls -A "${ROOT}/var/lib/checkpoint-scanner") || -n $(ls -A "${ROOT}/etc/checkpoint-scanner") ]]; then
    echo "the image would hold device state; refusing" >&2
    exit 1
fi
