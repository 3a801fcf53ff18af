import { deepEqual, equal, throws } from "node:assert/strict";
import {
  formatLoadBalancerSetting,
  type LoadBalancerConfig,
  type LoadBalancerMode,
  loadBalancerModeOf,
  parseLoadBalancerSetting,
} from "./load_balancer_config.ts";
import { errorMessage } from "../util/errors.ts";

const VALID: [string, LoadBalancerConfig][] = [
  ["", { kind: "disabled" }],
  ["kube-vip://", { kind: "kube-vip" }],
  ["empty://", { kind: "empty" }],
  ["KUBE-VIP://", { kind: "kube-vip" }],
  ["kube-vip://ignored-host", { kind: "kube-vip" }],
  ["metallb:///metallb-system/config", {
    kind: "metallb-configmap",
    namespace: "metallb-system",
    configMapName: "config",
  }],
  ["metallb:///", { kind: "metallb-configmap", namespace: "metallb-system", configMapName: "config" }],
  ["metallb://", { kind: "metallb-configmap", namespace: "metallb-system", configMapName: "config" }],
  ["metallb:///lb", { kind: "metallb-configmap", namespace: "lb", configMapName: "config" }],
  ["metallb:///lb/", { kind: "metallb-configmap", namespace: "lb", configMapName: "config" }],
  ["metallb:///lb/my.config", { kind: "metallb-configmap", namespace: "lb", configMapName: "my.config" }],
  ["metallb:///metallb-system?crdConfiguration=true", { kind: "metallb-crd", namespace: "metallb-system" }],
  ["metallb:///?crdConfiguration=true", { kind: "metallb-crd", namespace: "metallb-system" }],
  ["metallb:///lb?crdConfiguration=1", { kind: "metallb-crd", namespace: "lb" }],
  ["metallb:///lb/?crdConfiguration=true", { kind: "metallb-crd", namespace: "lb" }],
  ["metallb:///lb/cm?crdConfiguration=false", {
    kind: "metallb-configmap",
    namespace: "lb",
    configMapName: "cm",
  }],
  ["emlb:///da", { kind: "emlb", metro: "da" }],
  ["emlb:///sv", { kind: "emlb", metro: "sv" }],
  ["emlb:///NY", { kind: "emlb", metro: "NY" }],
];

for (const [text, want] of VALID) {
  Deno.test(`parseLoadBalancerSetting() parses '${text}'`, () => {
    deepEqual(parseLoadBalancerSetting(text), want);
  });
}

const INVALID: [string, RegExp][] = [
  ["metallb", /it is not of the form '<type>:\/\/\.\.\.'; use one of 'kube-vip:\/\/', 'empty:\/\/'/],
  ["foo://", /unknown load balancer type 'foo'; use one of .*'emlb:\/\/\/<metro>', or '' to disable/],
  ["packet://", /unknown load balancer type 'packet'/],
  ["metallb:///lb?crdConfiguration=yes", /'crdConfiguration' must be 'true' or 'false', not 'yes'/],
  ["metallb://metallb-system/config", /'metallb-system' is in the host position.*three slashes/],
  ["metallb:///Bad_Namespace", /namespace 'Bad_Namespace' is not a valid Kubernetes namespace name/],
  ["metallb:///lb/a/b", /ConfigMap name 'a\/b' is not a valid Kubernetes object name/],
  ["emlb:///", /'emlb' needs a metro code, as in 'emlb:\/\/\/da'/],
  ["emlb://da", /'da' is in the host position/],
  ["emlb:///da/x", /'da\/x' is not a metro code/],
  [
    "metallb:///ns/cm?crdConfiguration=true",
    /^custom resource mode \(crdConfiguration=true\) takes only a namespace, but 'cm' follows it; use 'metallb:\/\/\/ns\?crdConfiguration=true', or drop 'crdConfiguration' to use ConfigMap 'cm'$/,
  ],
  [
    "metallb:///lb?crdConfiguraton=true",
    /^unknown parameter 'crdConfiguraton'; the only parameter is 'crdConfiguration', as in 'metallb:\/\/\/lb\?crdConfiguration=true'$/,
  ],
  ["metallb:///lb\n/cm", /^it contains a newline at position 14; remove whitespace and control characters/],
  ["metallb:///lb/cm\n", /^it contains a newline at position 17; remove whitespace/],
  [" kube-vip://", /^it contains a space at position 1; remove whitespace/],
  ["emlb:///d\ta", /^it contains a tab at position 10;/],
  ["metallb:///lb/c\u00a0m", /^it contains the character U\+00A0 at position 16;/],
  ["metallb:///lb/cm\u0000", /^it contains the character U\+0000 at position 17;/],
  ["emlb:///xx", /not available in metro 'xx'; use one of 'da', 'ny', 'sv', as in 'emlb:\/\/\/da'/],
];

for (const [text, pattern] of INVALID) {
  Deno.test(`parseLoadBalancerSetting() rejects '${text}' with the valid forms or the fix`, () => {
    throws(() => parseLoadBalancerSetting(text), (err: unknown) => {
      equal(err instanceof SyntaxError, true);
      equal(pattern.test(errorMessage(err)), true, errorMessage(err));
      return true;
    });
  });
}

Deno.test("formatLoadBalancerSetting() gives a canonical setting that parses back", () => {
  for (const [, config] of VALID) {
    deepEqual(parseLoadBalancerSetting(formatLoadBalancerSetting(config)), config);
  }
  equal(
    formatLoadBalancerSetting({ kind: "metallb-crd", namespace: "x" }),
    "metallb:///x?crdConfiguration=true",
  );
});

Deno.test("loadBalancerModeOf() says what each setting means: elastic IPs with BGP, exposure, peers; or EMLB", () => {
  const cases: [string, LoadBalancerMode | undefined][] = [
    ["", undefined],
    ["kube-vip://", {
      kind: "elastic-ip",
      implementation: { kind: "kube-vip" },
      exposure: "kube-vip",
      peers: false,
    }],
    ["empty://", { kind: "elastic-ip", implementation: { kind: "empty" }, exposure: "none", peers: false }],
    ["metallb:///lb/cm", {
      kind: "elastic-ip",
      implementation: { kind: "metallb-configmap", namespace: "lb", configMapName: "cm" },
      exposure: "metallb-configmap",
      peers: true,
    }],
    ["metallb:///lb?crdConfiguration=true", {
      kind: "elastic-ip",
      implementation: { kind: "metallb-crd", namespace: "lb" },
      exposure: "metallb-crd",
      peers: true,
    }],
    ["emlb:///da", { kind: "emlb", implementation: { kind: "emlb", metro: "da" } }],
  ];
  for (const [text, mode] of cases) {
    deepEqual(loadBalancerModeOf(parseLoadBalancerSetting(text)), mode, text);
  }
});
