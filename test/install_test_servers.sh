#!/usr/bin/env bash
# Builds the real etcd and kube-apiserver binaries the integration tests run against.
#
# kube-apiserver comes from the k8s.io/kubernetes Go module: a throwaway module requires it and replaces each
# k8s.io/* staging module with its matching v0.x release (the staging paths in its go.mod are relative and
# cannot be resolved from the module cache). etcd is built from the same module graph, so its version is the
# one that Kubernetes release was tested with. Binaries are cached outside the repository.
#
# Usage: test/install_test_servers.sh            (prints the bin directory on the last line)
# Env:   CCM_TEST_BIN_DIR (default ~/.cache/ccm-test-bin), KUBE_VERSION (default v1.36.3)
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
BIN_DIR="${CCM_TEST_BIN_DIR:-$HOME/.cache/ccm-test-bin}/$KUBE_VERSION"
GOPROXY_URL="${GOPROXY_URL:-https://proxy.golang.org}"

if [[ -x "$BIN_DIR/kube-apiserver" && -x "$BIN_DIR/etcd" ]]; then
  echo "$BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "install_test_servers: 'go' is required to build kube-apiserver and etcd" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"

# The staging modules are exactly the relative replaces in k8s.io/kubernetes' own go.mod.
staging_version="v0.${KUBE_VERSION#v1.}"
mod="$(curl -fsSL "$GOPROXY_URL/k8s.io/kubernetes/@v/$KUBE_VERSION.mod")"
replaces="$(printf '%s\n' "$mod" | sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p')"
[[ -n "$replaces" ]] || { echo "install_test_servers: no staging replaces found in k8s.io/kubernetes@$KUBE_VERSION go.mod" >&2; exit 1; }

{
  echo "module ccm.local/testbin"
  echo
  echo "go $(printf '%s\n' "$mod" | sed -n 's/^go \(.*\)/\1/p')"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  for m in $replaces; do echo "replace $m => $m $staging_version"; done
} >"$work/go.mod"
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO

cd "$work"
export GOFLAGS="-mod=mod"
go mod tidy >&2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#v1.}"
echo "install_test_servers: building kube-apiserver $KUBE_VERSION (several minutes on 2 cores)" >&2
go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
echo "install_test_servers: building etcd" >&2
go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
mv "$BIN_DIR/kube-apiserver.tmp" "$BIN_DIR/kube-apiserver"
mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
echo "$BIN_DIR"
