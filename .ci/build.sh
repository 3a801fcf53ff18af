#!/usr/bin/env bash
# Compiles ccm into one self-contained binary with `deno compile`:
#   dist/bin/cloud-provider-equinix-metal-<os>-<arch>[.exe]
#
# Usage: .ci/build.sh <os> <arch>            (prints the binary's path on success)
#        .ci/build.sh --print-target <os> <arch>   (prints the Deno target triple)
# Env:   VERSION     version baked into the binary (default v0.1.0-dev)
#        DENORT_BIN  a denort binary for the target, used instead of downloading one from dl.deno.land
#
# The version goes into a staged copy of the sources (provider/version.ts rewritten there), so the work tree
# is never modified. deno compile needs the denort runtime for the target: without network access to
# dl.deno.land and without DENORT_BIN this fails, and says so; it never leaves a stale or fake binary behind.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

target_of() {
  case "$1/$2" in
    linux/amd64) echo x86_64-unknown-linux-gnu ;;
    linux/arm64) echo aarch64-unknown-linux-gnu ;;
    darwin/amd64) echo x86_64-apple-darwin ;;
    darwin/arm64) echo aarch64-apple-darwin ;;
    windows/amd64) echo x86_64-pc-windows-msvc ;;
    *)
      echo "build: unsupported OS/ARCH '$1/$2'; use linux/amd64, linux/arm64, darwin/amd64, darwin/arm64 or windows/amd64" >&2
      return 2
      ;;
  esac
}

if [[ "${1:-}" == "--print-target" ]]; then
  target_of "${2:-}" "${3:-}"
  exit
fi
[[ $# -eq 2 ]] || { echo "usage: .ci/build.sh <os> <arch>" >&2; exit 2; }
os="$1"
arch="$2"
target="$(target_of "$os" "$arch")" || exit 2
version="${VERSION:-v0.1.0-dev}"
out="$root/dist/bin/cloud-provider-equinix-metal-$os-$arch"
[[ "$os" == windows ]] && out="$out.exe"
# A failed build must not leave an older binary behind that looks like its result.
rm -f "$out" "$out".tmp-*

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) host_target=x86_64-unknown-linux-gnu ;;
  Linux/aarch64 | Linux/arm64) host_target=aarch64-unknown-linux-gnu ;;
  Darwin/x86_64) host_target=x86_64-apple-darwin ;;
  Darwin/arm64) host_target=aarch64-apple-darwin ;;
  *) host_target=unknown ;;
esac

# deno compile treats an empty DENORT_BIN as a path; make passes it empty when unset.
[[ -n "${DENORT_BIN:-}" ]] || unset DENORT_BIN
if [[ -n "${DENORT_BIN:-}" && ! -x "${DENORT_BIN}" ]]; then
  echo "build: DENORT_BIN '${DENORT_BIN}' is not an executable file; point it at a denort binary for $target, or unset it to download one" >&2
  exit 1
fi
deno="$("$root/.ci/deno.sh")"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
tar -C "$root" --exclude=./dist --exclude=./.tools --exclude=./.git --exclude=./.test-output -cf - . | tar -C "$stage/" -xf -
printf '/** Version of this build; written by .ci/build.sh. */\nexport const VERSION = "%s";\n' "$version" >"$stage/provider/version.ts"

mkdir -p "$(dirname "$out")"
echo "build: compiling ccm $version for $target" >&2
# --include fake_api/console embeds the simulator console's static files (fake_api/console.ts reads them from
# its own directory). V8 flags of the shipped binary (.ci/v8-flags): --optimize-for-size keeps the heap close to
# what is live; see bench/RESULTS.md (memory) for what it saves and costs.
v8_flags="$(tr -d '[:space:]' <"$root/.ci/v8-flags")"
if ! (cd "$stage" && "$deno" compile --allow-all --frozen --include fake_api/console --v8-flags="$v8_flags" --target "$target" --output "$out" main.ts) 2>"$stage/compile.log"; then
  cat "$stage/compile.log" >&2
  rm -f "$out" "$out".tmp-*
  if [[ -z "${DENORT_BIN:-}" ]] && grep -qiE 'dl\.deno\.land|denort|download|dns|connect|network|tcp' "$stage/compile.log"; then
    echo "build: FAILED: deno compile could not download the Deno runtime (denort) for $target from dl.deno.land." >&2
    echo "build: set DENORT_BIN to a denort binary for $target, or build where dl.deno.land is reachable (make build DOCKERBUILD=true)." >&2
  else
    echo "build: FAILED: deno compile did not produce $out (see the messages above)" >&2
  fi
  exit 1
fi
if [[ ! -s "$out" ]]; then
  echo "build: FAILED: deno compile reported success but wrote no binary at $out" >&2
  exit 1
fi

# A binary for this machine must answer `version` with the version: a DENORT_BIN that is a full deno, not
# denort, compiles "successfully" into a binary that starts a REPL instead of ccm.
if [[ "$target" == "$host_target" ]]; then
  got="$(timeout 30 "$out" version </dev/null 2>&1 || true)"
  if [[ "$got" != "$version" ]]; then
    rm -f "$out"
    echo "build: FAILED: the compiled binary printed '${got:0:200}' instead of '$version'; DENORT_BIN must be a denort binary, not deno" >&2
    exit 1
  fi
fi
echo "$out"
