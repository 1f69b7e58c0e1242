#!/bin/bash
# Installs the checkpoint scanner on a stock 64-bit Raspberry Pi OS Lite
# (Bookworm): apt packages, the service user, the virtualenv, the systemd
# units, the hardware watchdog, volatile journald, the boot config fragment,
# the state partition and the read-only root. Run once as root by a
# technician; idempotent, and a re-run upgrades in place. See README.md.
set -euo pipefail

readonly PREFIX=/opt/checkpoint-scanner
readonly VENV=$PREFIX/venv
readonly SHARE=$PREFIX/share
readonly STATE_DIR=/var/lib/checkpoint-scanner
readonly CONFIG_DIR=/etc/checkpoint-scanner
readonly STATE_LABEL=cpstate
readonly SERVICE=checkpoint-scanner.service
readonly BOOT_CONFIG=/boot/firmware/config.txt
readonly BOOT_CMDLINE=/boot/firmware/cmdline.txt

usage() {
    cat <<'EOF'
usage: install.sh [options]

  --source PATH        this project: a source checkout (directory) or a wheel;
                       default: the checkout holding this script, if any, else
                       keep the version already installed
  --root DIR           install into the filesystem tree at DIR (chroot), e.g.
                       a mounted image or a test root, instead of /
  --state-device DEV   use DEV as the state partition (formatted ext4, label
                       cpstate, only if it holds no filesystem yet)
  --no-overlay         do not switch the root to read-only (overlayroot)
  --keep-radios        keep Wi-Fi and Bluetooth on (uplink over Wi-Fi)
  --skip-pi            Pi-only packages and steps may be missing: warn and go
                       on (for tests and non-Pi Debian roots)
  -h, --help           this text
EOF
}

log() { printf 'install: %s\n' "$*" >&2; }
warn() { printf 'install: warning: %s\n' "$*" >&2; }
die() {
    printf 'install: error: %s\n' "$*" >&2
    exit 1
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PAYLOAD=$(dirname "$SCRIPT_DIR") # holds firmware/ and systemd/
SOURCE=""
ROOT=""
STATE_DEVICE=""
OVERLAY=yes
RADIOS=off
SKIP_PI=no

parse_args() {
    while (($#)); do
        case $1 in
        --source) SOURCE=${2:?--source needs a path}; shift 2 ;;
        --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
        --state-device) STATE_DEVICE=${2:?--state-device needs a device}; shift 2 ;;
        --no-overlay) OVERLAY=no; shift ;;
        --keep-radios) RADIOS=on; shift ;;
        --skip-pi) SKIP_PI=yes; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    if [[ -z $SOURCE && -f $PAYLOAD/pyproject.toml ]]; then
        SOURCE=$PAYLOAD
    fi
    if [[ -n $SOURCE ]]; then
        [[ -e $SOURCE ]] || die "--source $SOURCE does not exist"
        SOURCE=$(realpath "$SOURCE")
    fi
}

# --- --root: run this same script inside a chroot of DIR ----------------------

CHROOT_MOUNTS=()
CHROOT_WORK=""
WORK=""
cleanup() {
    local i
    for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${CHROOT_MOUNTS[i]}" 2>/dev/null || true
    done
    if [[ -n $CHROOT_WORK ]]; then rm -rf "$CHROOT_WORK"; fi
    if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
}

run_in_root() {
    local root args=() target
    root=$(realpath "$ROOT")
    [[ -x $root/bin/bash ]] || die "--root $root holds no bash: not a Debian root"
    CHROOT_WORK=$(mktemp -d "$root/tmp/checkpoint-install.XXXXXX")
    cp -a "$PAYLOAD/firmware" "$PAYLOAD/systemd" "$CHROOT_WORK/"
    if [[ -n $SOURCE ]]; then
        if [[ -d $SOURCE ]]; then
            mkdir "$CHROOT_WORK/src"
            # The project only, not caches or a developer's virtualenv.
            tar -C "$SOURCE" --exclude=.venv --exclude=.git --exclude=build --exclude='*.egg-info' \
                --exclude=__pycache__ --exclude=.mypy_cache --exclude=.ruff_cache \
                --exclude=.pytest_cache -cf - . | tar -C "$CHROOT_WORK/src" -xf -
            args+=(--source "${CHROOT_WORK#"$root"}/src")
        else
            cp "$SOURCE" "$CHROOT_WORK/"
            args+=(--source "${CHROOT_WORK#"$root"}/$(basename "$SOURCE")")
        fi
    fi
    [[ -n $STATE_DEVICE ]] && args+=(--state-device "$STATE_DEVICE")
    [[ $OVERLAY == no ]] && args+=(--no-overlay)
    [[ $RADIOS == on ]] && args+=(--keep-radios)
    [[ $SKIP_PI == yes ]] && args+=(--skip-pi)
    for target in proc sys dev; do
        if ! mountpoint -q "$root/$target"; then
            mkdir -p "$root/$target"
            case $target in
            proc) mount -t proc proc "$root/proc" ;;
            sys) mount -t sysfs sysfs "$root/sys" ;;
            dev) mount --bind /dev "$root/dev" ;;
            esac
            CHROOT_MOUNTS+=("$root/$target")
        fi
    done
    # Name resolution for apt and pip inside the root.
    if [[ ! -s $root/etc/resolv.conf && -r /etc/resolv.conf ]]; then
        cp /etc/resolv.conf "$root/etc/resolv.conf"
    fi
    log "running in chroot $root"
    chroot "$root" /bin/bash "${CHROOT_WORK#"$root"}/firmware/install.sh" "${args[@]}"
}

# --- helpers -------------------------------------------------------------------

# Replace the block between "# BEGIN checkpoint-scanner" and "# END
# checkpoint-scanner" in FILE with the content of BLOCK (a file), or append it.
# Atomic (temp file + rename) so a power cut leaves the old or the new file.
replace_block() {
    local file=$1 block=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    if [[ -f $file ]]; then
        awk '/^# BEGIN checkpoint-scanner$/ {skip=1; next}
             /^# END checkpoint-scanner$/ {skip=0; next}
             !skip' "$file" >"$tmp"
        chmod --reference="$file" "$tmp"
    else
        chmod 0644 "$tmp"
    fi
    {
        echo "# BEGIN checkpoint-scanner"
        cat "$block"
        echo "# END checkpoint-scanner"
    } >>"$tmp"
    sync "$tmp"
    mv -f "$tmp" "$file"
}

# awk reads all input (no SIGPIPE under pipefail, unlike grep -q).
apt_has() {
    apt-cache policy "$1" 2>/dev/null |
        awk '/Candidate:/ && $2 != "(none)" {found = 1} END {exit !found}'
}

systemd_running() { [[ -d /run/systemd/system ]]; }

# --- steps ---------------------------------------------------------------------

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_packages() {
    local wanted=(python3 python3-venv ca-certificates) pi_pkgs=(python3-picamera2 python3-lgpio)
    local missing=() pkgs=() p
    for p in "${wanted[@]}" "${pi_pkgs[@]}"; do
        installed "$p" || missing+=("$p")
    done
    # A re-run on a provisioned unit at the roadside may have no network:
    # nothing to fetch, so do not ask apt.
    if ((${#missing[@]} == 0)); then
        log "apt: all packages present"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    # With --skip-pi a missing Pi package is expected (not a Pi): the lists on
    # hand decide, and a unit with no network does not wait on DNS for them.
    local refresh=no
    for p in "${missing[@]}"; do
        if [[ " ${pi_pkgs[*]} " != *" $p "* || $SKIP_PI != yes ]]; then refresh=yes; fi
    done
    if [[ $refresh == yes ]]; then
        log "apt: updating package lists"
        apt-get update -qq
    fi
    for p in "${missing[@]}"; do
        if [[ " ${pi_pkgs[*]} " != *" $p "* ]] || apt_has "$p"; then
            pkgs+=("$p")
        elif [[ $SKIP_PI == yes ]]; then
            warn "$p is not available here; skipped (--skip-pi)"
        else
            die "$p is not available: is this Raspberry Pi OS? (--skip-pi to go on)"
        fi
    done
    ((${#pkgs[@]})) || return 0
    # No recommends: python3-picamera2 recommends a Qt/OpenGL desktop stack.
    log "apt: installing ${pkgs[*]}"
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}

install_user() {
    install -D -m 0644 "$PAYLOAD/systemd/sysusers.d/checkpoint-scanner.conf" \
        /etc/sysusers.d/checkpoint-scanner.conf
    systemd-sysusers /etc/sysusers.d/checkpoint-scanner.conf
    # Owned now, not only at the first service start: `device init` writes
    # the identity here before the daemon ever runs.
    install -d -m 0700 -o checkpoint -g checkpoint "$STATE_DIR"
    install -d -m 0755 -o root -g root "$CONFIG_DIR"
}

install_venv() {
    local constraints
    if [[ -x $VENV/bin/python ]] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
        log "venv: $VENV is broken (Python upgraded?); recreating"
        rm -rf "$VENV"
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        log "venv: creating $VENV (with system site packages for picamera2, lgpio)"
        install -d -m 0755 "$PREFIX"
        python3 -m venv --system-site-packages "$VENV"
    fi
    if [[ -z $SOURCE ]]; then
        "$VENV/bin/python" -c 'import scanner' 2>/dev/null ||
            die "no --source given and no project installed in $VENV"
        log "venv: no --source; keeping the installed project"
        return
    fi
    # apt's picamera2 and simplejpeg are built against apt's numpy: a newer
    # numpy from PyPI in the venv would break them, so pin it to apt's.
    constraints=$WORK/constraints.txt
    : >"$constraints"
    if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        /usr/bin/python3 -c 'import numpy; print("numpy==" + numpy.__version__)' >"$constraints"
    fi
    log "venv: installing $SOURCE"
    local pip=("$VENV/bin/pip" --disable-pip-version-check --no-input --quiet)
    "${pip[@]}" install --upgrade --constraint "$constraints" "$SOURCE"
    # Same version number, new code (a re-run from a newer checkout): force
    # the project itself, not its dependencies, to be reinstalled.
    "${pip[@]}" install --force-reinstall --no-deps "$SOURCE"
    "$VENV/bin/python" -c 'import scanner, provisioning' || die "the project does not import"
}

install_share() {
    # A copy of the installer and units on the unit, so a technician can
    # re-run it there (e.g. to enable the read-only root after provisioning).
    install -d -m 0755 "$SHARE/firmware" "$SHARE/systemd"
    if [[ $(realpath "$PAYLOAD") != "$(realpath "$SHARE")" ]]; then
        rm -rf "$SHARE/firmware" "$SHARE/systemd"
        cp -r "$PAYLOAD/firmware" "$PAYLOAD/systemd" "$SHARE/"
        chown -R root:root "$SHARE"
        chmod -R u=rwX,go=rX "$SHARE"
        chmod 0755 "$SHARE/firmware/install.sh"
    fi
}

install_units() {
    install -m 0644 "$PAYLOAD/systemd/$SERVICE" "/etc/systemd/system/$SERVICE"
    install -D -m 0644 "$PAYLOAD/systemd/journald.conf.d/checkpoint-scanner.conf" \
        /etc/systemd/journald.conf.d/checkpoint-scanner.conf
    install -D -m 0644 "$PAYLOAD/systemd/system.conf.d/checkpoint-watchdog.conf" \
        /etc/systemd/system.conf.d/checkpoint-watchdog.conf
    systemctl enable "$SERVICE" 2>/dev/null
    if systemd_running; then
        systemctl daemon-reload
        # Upgrade in place: a running daemon picks up the new code now.
        systemctl try-restart "$SERVICE"
    fi
}

install_boot_config() {
    local block
    if [[ ! -f $BOOT_CONFIG ]]; then
        [[ $SKIP_PI == yes ]] || die "$BOOT_CONFIG not found: is this Raspberry Pi OS?"
        warn "$BOOT_CONFIG not found; boot config skipped (--skip-pi)"
        return
    fi
    block=$WORK/config.txt
    if [[ $RADIOS == on ]]; then
        grep -v -e '^dtoverlay=disable-wifi$' -e '^dtoverlay=disable-bt$' \
            "$PAYLOAD/firmware/config.txt" >"$block"
    else
        cp "$PAYLOAD/firmware/config.txt" "$block"
    fi
    replace_block "$BOOT_CONFIG" "$block"
    log "boot: $BOOT_CONFIG updated (takes effect at the next boot)"
}

# Provisioning may have written identity, trust data or an outbox into
# $STATE_DIR on the root before the partition existed: copy them onto a
# partition that is still empty, then remove them from the root (mounting over
# them would hide them, and an identity key must not linger in two places).
move_state_onto() {
    local device=$1 target
    [[ -n $(find "$STATE_DIR" -mindepth 1 -maxdepth 1 -print -quit) ]] || return 0
    target=$(mktemp -d)
    mount "$device" "$target"
    if [[ -n $(find "$target" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit) ]]; then
        umount "$target"
        rmdir "$target"
        warn "$device already holds state; the copy in $STATE_DIR on the root is left hidden"
        return 0
    fi
    cp -a "$STATE_DIR/." "$target/"
    sync -f "$target"
    umount "$target"
    rmdir "$target"
    find "$STATE_DIR" -mindepth 1 -delete
    log "state: moved what was in $STATE_DIR onto $device"
}

install_state_partition() {
    local fstype label block
    if [[ -n $STATE_DEVICE ]]; then
        [[ -b $STATE_DEVICE ]] || die "--state-device $STATE_DEVICE is not a block device"
        fstype=$(blkid -o value -s TYPE "$STATE_DEVICE" || true)
        label=$(blkid -o value -s LABEL "$STATE_DEVICE" || true)
        if [[ -z $fstype ]]; then
            log "state: formatting $STATE_DEVICE as ext4, label $STATE_LABEL"
            mkfs.ext4 -q -L "$STATE_LABEL" "$STATE_DEVICE"
        elif [[ $label != "$STATE_LABEL" ]]; then
            die "$STATE_DEVICE holds a $fstype filesystem labelled '$label'; refusing to format it"
        fi
    fi
    if ! blkid -L "$STATE_LABEL" >/dev/null 2>&1; then
        warn "no partition labelled $STATE_LABEL: $STATE_DIR stays on the root filesystem"
        return
    fi
    block=$WORK/fstab
    # nofail: a missing partition must not stop the boot (the unit stays
    # reachable for diagnosis); the service itself has RequiresMountsFor= and
    # does not start without it. nofail also keeps the boot from waiting on
    # the device, so its timeout only bounds how long the service waits: 5
    # minutes, not 30 s. With 30 s a slow udev (the QEMU lab under load took
    # longer) failed the mount for good and left the unit down until a
    # technician came: systemd does not retry a mount whose device was late.
    # noexec etc.: only data lives there.
    printf 'LABEL=%s %s ext4 defaults,noatime,nodev,nosuid,noexec,nofail,x-systemd.device-timeout=5min 0 2\n' \
        "$STATE_LABEL" "$STATE_DIR" >"$block"
    replace_block /etc/fstab "$block"
    local restart=no
    if ! mountpoint -q "$STATE_DIR"; then
        # A running daemon holds its outbox open on the root: it would go on
        # writing there, under the mount, and lose it all at the next boot.
        if systemd_running && systemctl is-active --quiet "$SERVICE"; then
            log "state: stopping $SERVICE while its state moves"
            systemctl stop "$SERVICE"
            restart=yes
        fi
        move_state_onto "$(blkid -L "$STATE_LABEL")"
        systemd_running && systemctl daemon-reload
        mount "$STATE_DIR"
    fi
    chown checkpoint:checkpoint "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    if [[ $restart == yes ]]; then systemctl start "$SERVICE"; fi
    log "state: $STATE_DIR is on the $STATE_LABEL partition"
}

install_overlay() {
    if [[ $OVERLAY == no ]]; then
        log "root: read-only root not enabled (--no-overlay)"
        return
    fi
    if ! command -v raspi-config >/dev/null; then
        [[ $SKIP_PI == yes ]] || die "raspi-config not found: cannot enable the read-only root"
        warn "raspi-config not found; read-only root skipped (--skip-pi)"
        return
    fi
    if ! mountpoint -q "$STATE_DIR"; then
        warn "read-only root NOT enabled: $STATE_DIR is not on its own partition, and the"
        warn "outbox, trust data and identity would be lost at every reboot (see README)"
        return
    fi
    if [[ -f $BOOT_CMDLINE ]] && grep -qw 'overlayroot=tmpfs' "$BOOT_CMDLINE"; then
        log "root: read-only root already enabled"
        return
    fi
    raspi-config nonint do_overlayfs 0
    log "root: read-only root enabled from the next boot; provision now, then reboot"
}

main() {
    parse_args "$@"
    [[ $(id -u) -eq 0 ]] || die "run as root"
    trap cleanup EXIT
    if [[ -n $ROOT && $(realpath "$ROOT") != / ]]; then
        run_in_root
        return
    fi
    WORK=$(mktemp -d)
    install_packages
    install_user
    install_venv
    install_share
    install_units
    install_boot_config
    install_state_partition
    install_overlay
    log "done"
}

main "$@"
