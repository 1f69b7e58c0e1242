#!/bin/bash
# Puts the checkpoint stage into a pi-gen checkout (64-bit: its arm64 branch)
# with everything it installs inside the stage itself, because build-docker.sh
# only sees the pi-gen directory: a wheel of this project and a copy of the
# installer and units. The image then holds no key and no device identity.
# usage: firmware/pi-gen/prepare.sh PI_GEN_DIR
set -euo pipefail

die() {
    printf 'prepare: error: %s\n' "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: prepare.sh PI_GEN_DIR"
PI_GEN=$(realpath "$1")
[[ -x $PI_GEN/build.sh ]] || die "$PI_GEN is not a pi-gen checkout (no build.sh)"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
STAGE=$PI_GEN/stage-checkpoint
FILES=$STAGE/00-install/files

rm -rf "$STAGE"
cp -r "$HERE/stage-checkpoint" "$STAGE"
mkdir -p "$FILES/payload"
cp -r "$REPO/firmware" "$REPO/systemd" "$FILES/payload/"
rm -rf "$FILES/payload/firmware/pi-gen"
# Build from a clean copy: setuptools writes build/ into the source tree.
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
tar -C "$REPO" --exclude=.venv --exclude=.git --exclude=build --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache \
    -cf - . | tar -C "$SRC" -xf -
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$FILES" "$SRC"
if [[ ! -e $PI_GEN/config ]]; then
    cp "$HERE/config" "$PI_GEN/config"
fi
printf 'prepare: %s is ready; cd there and run ./build-docker.sh (or sudo ./build.sh)\n' "$STAGE"
