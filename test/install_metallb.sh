#!/usr/bin/env bash
# Builds the real MetalLB controller (for test/metallb_real_test.ts) from its Go module, like install_helm.sh
# builds helm: `go install go.universe.tf/metallb/controller@<version>` into a cache directory outside the
# repository, and puts MetalLB's own CRD manifests next to it (crds.yaml).
#
# The CRDs come from MetalLB v0.16.2, not from the controller's v0.15.2: v0.15.2's BGPPeer CRD declares the
# ASN fields `format: int32` with a maximum of 4294967295, which kube-apiserver 1.36 rejects for every
# BGPPeer; v0.16.2 fixed it (`format: int64`). v0.16.2's controller itself does not build from the module
# proxy (it needs a frr-k8s version the proxy does not serve), so the controller stays v0.15.2. The CRDs are
# MetalLB's `config/crd/bases` as they are; the BGPPeer conversion webhook patch (an in-cluster Service) is
# not applied, so the API server converts v1beta1 <-> v1beta2 BGPPeers by apiVersion only. Next to them,
# webhooks.yaml is the controller version's own ValidatingWebhookConfiguration (config/webhook/manifests.yaml),
# which test/metallb_real.ts points at the controller's webhook server on loopback.
#
# Usage: test/install_metallb.sh     (prints the controller binary's path on the last line)
# Env:   CCM_TEST_BIN_DIR (default ~/.cache/ccm-test-bin), METALLB_VERSION (default v0.15.2),
#        METALLB_CRDS_VERSION (default v0.16.2)
set -euo pipefail

METALLB_VERSION="${METALLB_VERSION:-v0.15.2}"
METALLB_CRDS_VERSION="${METALLB_CRDS_VERSION:-v0.16.2}"
BIN_DIR="${CCM_TEST_BIN_DIR:-$HOME/.cache/ccm-test-bin}/metallb-$METALLB_VERSION"

if [[ -x "$BIN_DIR/controller" && -s "$BIN_DIR/crds.yaml" && -s "$BIN_DIR/webhooks.yaml" ]]; then
  echo "$BIN_DIR/controller"
  exit 0
fi
command -v go >/dev/null || { echo "install_metallb: 'go' is required to build MetalLB $METALLB_VERSION" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"
# Outside any module, so only MetalLB's own go.mod counts; -mod settings from the caller would break that.
cd "$work"
module_dir() {
  GOFLAGS="" go mod download -json "go.universe.tf/metallb@$1" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

if [[ ! -x "$BIN_DIR/controller" ]]; then
  echo "install_metallb: building the MetalLB $METALLB_VERSION controller (a few minutes)" >&2
  GOFLAGS="-buildvcs=false" GOBIN="$work" go install -trimpath -ldflags "-s -w" \
    "go.universe.tf/metallb/controller@$METALLB_VERSION" >&2
  mv "$work/controller" "$BIN_DIR/controller"
fi

if [[ ! -s "$BIN_DIR/crds.yaml" ]]; then
  crds_dir="$(module_dir "$METALLB_CRDS_VERSION")"
  [[ -n "$crds_dir" && -d "$crds_dir/config/crd/bases" ]] || {
    echo "install_metallb: MetalLB $METALLB_CRDS_VERSION has no config/crd/bases in the module cache" >&2
    exit 1
  }
  for f in "$crds_dir"/config/crd/bases/*.yaml; do
    # controller-gen files start with "---"; one document each, separated.
    printf '%s\n' "---"
    sed '/^---$/d' "$f"
  done >"$work/crds.yaml"
  grep -q "name: bgppeers.metallb.io" "$work/crds.yaml" || { echo "install_metallb: no BGPPeer CRD" >&2; exit 1; }
  mv "$work/crds.yaml" "$BIN_DIR/crds.yaml"
fi

# The controller's own ValidatingWebhookConfiguration (paths it serves), from the controller's version.
if [[ ! -s "$BIN_DIR/webhooks.yaml" ]]; then
  webhook_dir="$(module_dir "$METALLB_VERSION")"
  [[ -n "$webhook_dir" && -s "$webhook_dir/config/webhook/manifests.yaml" ]] || {
    echo "install_metallb: MetalLB $METALLB_VERSION has no config/webhook/manifests.yaml" >&2
    exit 1
  }
  cp "$webhook_dir/config/webhook/manifests.yaml" "$work/webhooks.yaml"
  grep -q "kind: ValidatingWebhookConfiguration" "$work/webhooks.yaml" || {
    echo "install_metallb: no ValidatingWebhookConfiguration in MetalLB's webhook manifests" >&2
    exit 1
  }
  mv "$work/webhooks.yaml" "$BIN_DIR/webhooks.yaml"
fi
echo "install_metallb: controller $METALLB_VERSION, CRDs $METALLB_CRDS_VERSION in $BIN_DIR" >&2
echo "$BIN_DIR/controller"
