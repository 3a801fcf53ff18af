#!/usr/bin/env bash
# Builds kwok (the kubelets of the node-scale tests, the demo and the benchmarks; test/harness/kwok.ts) from its
# Go module, like install_helm.sh builds helm: `go install sigs.k8s.io/kwok/cmd/kwok@<version>` into a cache
# directory outside the repository.
#
# Usage: test/install_kwok.sh            (prints the kwok binary's path on the last line)
# Env:   CCM_TEST_BIN_DIR (default ~/.cache/ccm-test-bin), KWOK_VERSION (default v0.8.0)
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
BIN_DIR="${CCM_TEST_BIN_DIR:-$HOME/.cache/ccm-test-bin}/kwok-$KWOK_VERSION"

if [[ -x "$BIN_DIR/kwok" ]]; then
  echo "$BIN_DIR/kwok"
  exit 0
fi
command -v go >/dev/null || { echo "install_kwok: 'go' is required to build kwok $KWOK_VERSION" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"
echo "install_kwok: building kwok $KWOK_VERSION (a few minutes)" >&2
# Outside any module, so only kwok's own go.mod counts; -mod settings from the caller would break that.
cd "$work"
GOFLAGS="-buildvcs=false" GOBIN="$work" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
"$work/kwok" --version >&2
mv "$work/kwok" "$BIN_DIR/kwok"
echo "$BIN_DIR/kwok"
