#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for the console's browser tests (playwright drives it; it never downloads one),
# with a Chinese font so screenshots of the zh-CN console show characters rather than boxes.
#   chromium.sh install    install chromium and fonts-wqy-zenhei with apt-get when missing (as root), else say what to do
set -euo pipefail

PACKAGES=(chromium fonts-wqy-zenhei)

missing() {
  command -v chromium > /dev/null || return 0
  [ ! -d /usr/share/fonts/truetype/wqy ]
}

install() {
  missing || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "Installing ${PACKAGES[*]} from Debian's packages ..." >&2
    (apt-get install -y -qq "${PACKAGES[@]}" > /dev/null 2>&1) \
      || { apt-get update -qq > /dev/null && apt-get install -y -qq "${PACKAGES[@]}" > /dev/null; }
    return 0
  fi
  echo "chromium is needed for the console's browser tests (tests/e2e/test_console_*): install it" \
    "(Debian/Ubuntu: sudo apt-get install chromium fonts-wqy-zenhei); without it those tests are skipped." >&2
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
