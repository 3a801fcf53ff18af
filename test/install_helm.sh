#!/usr/bin/env bash
# Builds helm (for the chart tests) from its Go module, like install_test_servers.sh builds the API server:
# `go install helm.sh/helm/v3/cmd/helm@<version>` into a cache directory outside the repository.
#
# Usage: test/install_helm.sh            (prints the helm binary's path on the last line)
# Env:   CCM_TEST_BIN_DIR (default ~/.cache/ccm-test-bin), HELM_VERSION (default v3.22.0)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
BIN_DIR="${CCM_TEST_BIN_DIR:-$HOME/.cache/ccm-test-bin}/helm-$HELM_VERSION"

if [[ -x "$BIN_DIR/helm" ]]; then
  echo "$BIN_DIR/helm"
  exit 0
fi
command -v go >/dev/null || { echo "install_helm: 'go' is required to build helm $HELM_VERSION" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"
echo "install_helm: building helm $HELM_VERSION (a minute or two)" >&2
# Outside any module, so only helm's own go.mod counts; -mod settings from the caller would break that.
cd "$work"
GOFLAGS="-buildvcs=false" GOBIN="$work" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
"$work/helm" version --short >&2
mv "$work/helm" "$BIN_DIR/helm"
echo "$BIN_DIR/helm"
