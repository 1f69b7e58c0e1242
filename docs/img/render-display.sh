#!/usr/bin/env bash
# Renders the officer-display pictures in docs/display.md with `checkpoint-scanner render-display`,
# from sample passes signed by throwaway keys, pinned to 2026-12-01 so the pictures do not drift.
set -euo pipefail
cd "$(dirname "$0")/../.."
cs=${CHECKPOINT_SCANNER:-.venv/bin/checkpoint-scanner}
py=${PYTHON:-.venv/bin/python}
at=2026-12-01T00:00:00Z
out=docs/img
K=$(mktemp -d)
trap 'rm -rf "$K"' EXIT
"$py" -c 'import sys; from pathlib import Path; from scanner.cli.kit import parse_instant
from scanner.demo.samples import build; build(parse_instant(sys.argv[1])).write(Path(sys.argv[2]))' "$at" "$K"

scan() {  # scan NAME SAMPLE BACKEND LANG [options...]
    local name=$1 sample=$2 backend=$3 lang=$4
    shift 4
    "$cs" render-display --backend "$backend" --lang "$lang" --label CP-HN-01 \
        --root-pub "$K/root.pub" --bundle "$K/bundle.cose" --revocations "$K/rev-1.cose" \
        --at "$at" --text "$(cat "$K/$sample.txt")" --out "$out/$name.png" "$@"
}
hdmi=(--size 480x320)
oled=(--scale 2)
scan display-accept-vi valid console vi "${hdmi[@]}"
scan display-reject-vi expired console vi "${hdmi[@]}"
scan display-reject-en forged console en "${hdmi[@]}"
scan display-test-card-en test-card console en "${hdmi[@]}"
scan display-oled-accept-vi valid oled vi "${oled[@]}"
scan display-oled-reject-vi revoked oled vi "${oled[@]}"
scan display-oled-reject-en not-a-pass oled en "${oled[@]}"
"$cs" render-display --backend console --lang vi --label CP-HN-01 --at "$at" --idle \
    "${hdmi[@]}" --out "$out/display-idle-vi.png"
"$cs" render-display --backend console --lang en --label CP-HN-01 --at "$at" \
    --state degraded --reason trust_stale --offline-for 135 "${hdmi[@]}" \
    --out "$out/display-degraded-en.png"
"$cs" render-display --backend oled --lang vi --label CP-HN-01 --at "$at" \
    --state degraded --reason clock_unsynced "${oled[@]}" --out "$out/display-oled-degraded-vi.png"
ls -l "$out"/display-*.png
