#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the dashboard's browser test when missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: chromium/chromedriver missing and not root to install them" >&2
    exit 1
fi
echo "ensure-chromium: installing chromium chromium-driver"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
