#!/usr/bin/env bash
# Prints the path of the Deno binary to use, installing Deno from the npm registry when needed.
#
# A `deno` on PATH wins. Otherwise exactly DENO_VERSION is installed with npm into the git-ignored .tools/
# folder (the npm `deno` package ships the real binary in a per-platform package), so a fresh machine with
# only Node and npm can build and test the project.
set -euo pipefail

DENO_VERSION="${DENO_VERSION:-2.9.6}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/deno-$DENO_VERSION"

if command -v deno >/dev/null 2>&1; then
  command -v deno
  exit 0
fi
if [[ -x "$tools/deno" ]]; then
  echo "$tools/deno"
  exit 0
fi
command -v npm >/dev/null || { echo "deno.sh: neither 'deno' nor 'npm' is on PATH; install Node.js and npm first" >&2; exit 1; }

echo "deno.sh: installing Deno $DENO_VERSION from npm into $tools" >&2
mkdir -p "$tools"
npm install --prefix "$tools" --no-audit --no-fund --no-save --loglevel=error "deno@$DENO_VERSION" >&2
bin="$(find "$tools/node_modules/@deno" -maxdepth 2 -type f -name deno 2>/dev/null | head -n 1)"
[[ -n "$bin" ]] || { echo "deno.sh: npm installed deno@$DENO_VERSION but no binary for this platform was found" >&2; exit 1; }
ln -sf "$bin" "$tools/deno"
"$tools/deno" --version >&2
echo "$tools/deno"
