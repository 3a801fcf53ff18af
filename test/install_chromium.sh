#!/usr/bin/env bash
# Makes sure a Chromium is there for the console browser tests (test/console_test.ts): CHROMIUM_BIN when it is
# set, else Debian's `chromium` on PATH, else `apt-get update` and `apt-get install chromium` (as root, or with
# sudo -n). A machine where none of that works fails here, so the browser tests fail rather than skip.
#
# Usage: test/install_chromium.sh            (prints the browser's path on the last line)
set -euo pipefail

fail() {
  echo "install_chromium: $*" >&2
  exit 1
}

if [[ -n "${CHROMIUM_BIN:-}" ]]; then
  [[ -x "$CHROMIUM_BIN" ]] || fail "CHROMIUM_BIN '$CHROMIUM_BIN' is not an executable file; unset it to install Debian's chromium"
  echo "$CHROMIUM_BIN"
  exit 0
fi
if path="$(command -v chromium)"; then
  echo "$path"
  exit 0
fi

command -v apt-get >/dev/null || fail "chromium is not installed and there is no apt-get; install Chromium and set CHROMIUM_BIN"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || fail "installing chromium needs root (or sudo); install it and set CHROMIUM_BIN"
  sudo=(sudo -n)
fi
echo "install_chromium: installing Debian's chromium with apt-get (once)" >&2
"${sudo[@]}" apt-get update -qq >&2 || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >&2 ||
  fail "apt-get install chromium failed"
path="$(command -v chromium)" || fail "apt-get installed chromium but there is no 'chromium' on PATH"
echo "$path"
