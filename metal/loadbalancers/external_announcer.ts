/**
 * kube-vip (`kube-vip://`) and empty (`empty://`), upstream's metal/loadbalancers/kubevip/kubevip.go: an
 * announcer the CCM does not configure announces the Service addresses itself, peering with the Equinix
 * routers using the Node BGP annotations. The implementation has no objects of its own: the elastic IP load
 * balancer reserves the address and makes it visible where the announcer reads it (for kube-vip
 * `kube-vip.io/loadbalancerIPs` and `spec.loadBalancerIP`, see `service_ip.ts`); BGP sessions and annotations
 * are the BGP node controller's (`metal/bgp/node_controller.ts`), so Service syncs do not wait for them.
 *
 * With empty nothing is written on the Service besides its status (upstream also wrote `spec.loadBalancerIP`,
 * which users of this mode asked to stop, kubernetes-sigs/cloud-provider-equinix-metal#200). To have the CCM
 * leave Services entirely alone, leave `METAL_LOAD_BALANCER` empty instead.
 *
 * @module
 */
import type { LoadBalancerImplementation } from "./implementation.ts";

/** Builds the implementation for kube-vip or empty; the two differ only in their name. */
export function createExternalAnnouncerImplementation(
  name: "kube-vip" | "empty",
): LoadBalancerImplementation {
  return {
    name,
    addService: () => Promise.resolve(undefined),
    updateService: () => Promise.resolve(),
    removeService: () => Promise.resolve(),
  };
}
