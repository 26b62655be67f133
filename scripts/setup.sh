#!/usr/bin/env bash
# Installs everything keras_gans needs on a fresh Debian machine (run as root):
# the Noto Color Emoji font for the built-in dataset, then the package itself.
#   bash scripts/setup.sh          # to train and generate
#   bash scripts/setup.sh --test   # also the test dependencies (pytest, OpenCV for face crops, the
#                                  # gallery server, and Debian's chromium + chromium-driver for the
#                                  # gallery's browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! fc-list 2>/dev/null | grep -qi "Noto Color Emoji" && [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq fonts-noto-color-emoji >/dev/null
  else
    echo "note: no apt-get here; install the Noto Color Emoji font yourself for the built-in dataset" >&2
  fi
fi
extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test,gallery]"
  if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      echo "note: no apt-get here; the gallery's browser tests skip without chromium and chromedriver" >&2
    fi
  fi
fi
python3 -m pip install -q --disable-pip-version-check -e ".${extras}"
