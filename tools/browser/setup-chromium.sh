#!/usr/bin/env bash
# Installs Debian's Chromium and its ChromeDriver for the live page's browser test, when missing:
#   bash tools/browser/setup-chromium.sh
# The test drives /usr/bin/chromium through /usr/bin/chromedriver with Selenium and never lets a
# tool download a browser of its own (nothing outside the machine can be reached). Needs root on
# Debian/Ubuntu; does nothing when both are already there. Idempotent.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "setup-chromium: missing ${need[*]} and cannot apt-get install them (need root on Debian/Ubuntu)" >&2
  exit 1
fi
echo "setup-chromium: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
