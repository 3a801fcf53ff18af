/**
 * kube-vip (`kube-vip://`, spec §4.6): kube-vip announces the Service addresses itself, peering with the
 * Equinix routers using the Node BGP annotations. The implementation has no objects of its own; the shared
 * logic reserves the elastic IP and makes the address visible where kube-vip reads it
 * (`kube-vip.io/loadbalancerIPs` and `spec.loadBalancerIP`, see `service_ip.ts`); BGP sessions and annotations
 * are the BGP node controller's (`metal/bgp/node_controller.ts`), so Service syncs do not wait for them.
 *
 * @module
 */
import type { LoadBalancerImplementation } from "./implementation.ts";

/** Builds the kube-vip implementation. */
export function createKubeVipImplementation(): LoadBalancerImplementation {
  return {
    name: "kube-vip",
    usesElasticIP: true,
    usesPeers: false,
    addService: () => Promise.resolve(undefined),
    updateService: () => Promise.resolve(),
    removeService: () => Promise.resolve(),
  };
}
