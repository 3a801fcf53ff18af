#!/usr/bin/env bash
# Runs the whole test suite (unit + integration) and ends with a plain "N passed, N failed" line.
# Integration tests need etcd and kube-apiserver: they are built (or found in the cache) first.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

deno="$(.ci/deno.sh)" || exit 1
if [[ -z "${KUBE_APISERVER_BIN:-}" || -z "${ETCD_BIN:-}" ]]; then
  bin_dir="$(test/install_test_servers.sh | tail -n 1)" || { echo "0 passed, 1 failed (test servers could not be installed)"; exit 1; }
  export KUBE_APISERVER_BIN="${KUBE_APISERVER_BIN:-$bin_dir/kube-apiserver}"
  export ETCD_BIN="${ETCD_BIN:-$bin_dir/etcd}"
fi
# The chart tests need helm (test/deploy_chart_test.ts); a missing helm fails them, it never skips them.
if [[ -z "${HELM_BIN:-}" ]]; then
  HELM_BIN="$(test/install_helm.sh | tail -n 1)" || { echo "0 passed, 1 failed (helm could not be installed)"; exit 1; }
  export HELM_BIN
fi
# The console browser tests need Chromium (test/console_test.ts); a missing one fails them, it never skips them.
if [[ -z "${CHROMIUM_BIN:-}" ]]; then
  CHROMIUM_BIN="$(test/install_chromium.sh | tail -n 1)" || { echo "0 passed, 1 failed (chromium could not be installed)"; exit 1; }
  export CHROMIUM_BIN
fi
# The real MetalLB controller, MetalLB's own CRDs and webhook configuration (test/metallb_real_test.ts); a
# failed build fails them.
if [[ -z "${METALLB_CONTROLLER_BIN:-}" || -z "${METALLB_CRDS:-}" || -z "${METALLB_WEBHOOKS:-}" ]]; then
  metallb_bin="$(test/install_metallb.sh | tail -n 1)" || { echo "0 passed, 1 failed (MetalLB could not be installed)"; exit 1; }
  export METALLB_CONTROLLER_BIN="${METALLB_CONTROLLER_BIN:-$metallb_bin}"
  export METALLB_CRDS="${METALLB_CRDS:-$(dirname "$metallb_bin")/crds.yaml}"
  export METALLB_WEBHOOKS="${METALLB_WEBHOOKS:-$(dirname "$metallb_bin")/webhooks.yaml}"
fi
# The real MetalLB v0.12.1 controller for ConfigMap mode (test/metallb_real_configmap_test.ts).
if [[ -z "${METALLB_V0_12_CONTROLLER_BIN:-}" ]]; then
  METALLB_V0_12_CONTROLLER_BIN="$(test/install_metallb_v0_12.sh | tail -n 1)" || { echo "0 passed, 1 failed (MetalLB v0.12.1 could not be installed)"; exit 1; }
  export METALLB_V0_12_CONTROLLER_BIN
fi
# kwok plays the kubelets of the node-scale test and the demo (test/harness/kwok.ts); a failed build fails them.
if [[ -z "${KWOK_BIN:-}" ]]; then
  KWOK_BIN="$(test/install_kwok.sh | tail -n 1)" || { echo "0 passed, 1 failed (kwok could not be installed)"; exit 1; }
  export KWOK_BIN
fi

log="$(mktemp)"
fifo="$(mktemp -u)"
mkfifo "$fifo"
trap 'rm -f "$log" "$fifo"' EXIT
# A hung test must not eat CI's 90 minutes. The suite takes ~11 min and no test takes 2 min, so a test still
# running after CCM_TEST_STUCK (deno reports at 1m, 2m, 4m, 8m, ...) stops the run, and CCM_TEST_TIMEOUT bounds
# the whole suite.
limit="${CCM_TEST_TIMEOUT:-60m}"
stuck_after="${CCM_TEST_STUCK:-8m0s}"
timeout --kill-after=30s "$limit" "$deno" test --allow-all "$@" >"$fifo" 2>&1 &
pid=$!
stuck=""
while IFS= read -r line; do
  printf '%s\n' "$line"
  printf '%s\n' "$line" >>"$log"
  if [[ -z "$stuck" && "$line" == *"has been running for over"*"(${stuck_after})"* ]]; then
    stuck="$(sed "s/\x1b\[[0-9;]*m//g; s/^[^']*'//; s/' has been running for over.*//" <<<"$line")"
    kill -TERM "$pid" 2>/dev/null
  fi
done <"$fifo"
wait "$pid"
status=$?

plain="$(sed 's/\x1b\[[0-9;]*m//g' "$log")"
# deno prints e.g. "ok | 12 passed (3 steps) | 0 failed (4s)" or "FAILED | 11 passed | 1 failed (4s)".
summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' <<<"$plain" | tail -n 1)"
passed="$(sed -n 's/.*| \([0-9]*\) passed.*/\1/p' <<<"$summary")"
failed="$(sed -n 's/.*| \([0-9]*\) failed.*/\1/p' <<<"$summary")"
if [[ -z "$passed" ]]; then
  # No summary: count the tests that finished (top-level lines only; steps are indented) plus the unfinished one.
  passed="$(grep -cE '^[^ ].* \.\.\. ok \(' <<<"$plain")"
  failed="$(grep -cE '^[^ ].* \.\.\. FAILED' <<<"$plain")"
  if [[ -n "$stuck" ]]; then
    echo "deno test was stopped: ${stuck} ran for over ${stuck_after} (CCM_TEST_STUCK)"
  elif [[ "$status" -eq 124 ]]; then
    echo "deno test was stopped after ${limit} (CCM_TEST_TIMEOUT)"
  fi
  echo "${passed} passed, $((failed + 1)) failed (deno test did not finish)"
  exit 1
fi
if [[ "$status" -ne 0 && "${failed:-0}" -eq 0 ]]; then failed=1; fi
if [[ "${failed:-0}" -ne 0 ]]; then
  # CI keeps only the end of the output: repeat each failure's message (without stack frames) just above the
  # summary, so the reason survives.
  echo "--- why (the ERRORS section without stack frames) ---"
  sed -n '/^ ERRORS $/,/^ FAILURES $/p' <<<"$plain" | grep -vE '^\s+at |^\s*$|^ (ERRORS|FAILURES) $' | cut -c1-400 | head -n 40
fi
echo "${passed} passed, ${failed:-0} failed"
exit "$status"
