#!/usr/bin/env bash
# Builds the real MetalLB v0.12.1 controller (for test/metallb_real_configmap_test.ts: ccm's ConfigMap mode,
# `metallb:///<namespace>/<configmap>`) from its Go module into a cache directory outside the repository.
# MetalLB ≤ 0.12 reads its configuration from a ConfigMap, so there are no CRDs to fetch.
#
# v0.12.1's go.mod has replace directives, which `go install <module>@<version>` refuses, so the module is
# downloaded (`go mod download`), copied out of the read-only module cache and built in place with its own
# go.mod and go.sum.
#
# Usage: test/install_metallb_v0_12.sh     (prints the controller binary's path on the last line)
# Env:   CCM_TEST_BIN_DIR (default ~/.cache/ccm-test-bin), METALLB_CONFIGMAP_VERSION (default v0.12.1)
set -euo pipefail

VERSION="${METALLB_CONFIGMAP_VERSION:-v0.12.1}"
BIN_DIR="${CCM_TEST_BIN_DIR:-$HOME/.cache/ccm-test-bin}/metallb-$VERSION"

if [[ -x "$BIN_DIR/controller" ]]; then
  echo "$BIN_DIR/controller"
  exit 0
fi
command -v go >/dev/null || { echo "install_metallb_v0_12: 'go' is required to build MetalLB $VERSION" >&2; exit 1; }

work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"
cd "$work"
module_dir="$(GOFLAGS="" go mod download -json "go.universe.tf/metallb@$VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$module_dir" && -d "$module_dir/controller" ]] || {
  echo "install_metallb_v0_12: MetalLB $VERSION has no controller/ in the module cache" >&2
  exit 1
}
cp -R "$module_dir" "$work/src"
chmod -R u+w "$work/src"
echo "install_metallb_v0_12: building the MetalLB $VERSION controller (a few minutes)" >&2
# Only MetalLB's own go.mod counts; -mod or workspace settings from the caller would break that.
(cd "$work/src" && GOFLAGS="-buildvcs=false" GOWORK=off go build -trimpath -ldflags "-s -w" \
  -o "$work/controller" ./controller) >&2

mv "$work/controller" "$BIN_DIR/controller"
echo "install_metallb_v0_12: controller $VERSION in $BIN_DIR" >&2
echo "$BIN_DIR/controller"
