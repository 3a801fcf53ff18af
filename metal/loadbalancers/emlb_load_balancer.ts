/**
 * {@linkcode EmlbLoadBalancer}: the provider's `LoadBalancer` with `emlb:///<metro>`. The EMLB implementation
 * (`emlb.ts`) owns each Service's load balancer and its address, so every call goes straight to it with the
 * selected nodes: no elastic IP is reserved and no BGP is set up.
 *
 * @module
 */
import type { V1Service } from "@kubernetes/client-node";
import type { EnsuredLoadBalancer, LoadBalancerLookup } from "../../provider/mod.ts";
import type { IngressOwningImplementation } from "./implementation.ts";
import { MetalLoadBalancer, type ServiceSync, type ServiceTarget } from "./service_lb.ts";

/** See the module documentation. */
export class EmlbLoadBalancer extends MetalLoadBalancer<IngressOwningImplementation> {
  protected override async lookup(service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup> {
    return await this.implementation.getLoadBalancer(service, signal);
  }

  protected override async ensure(sync: ServiceSync, signal?: AbortSignal): Promise<EnsuredLoadBalancer> {
    const status = await this.implementation.addService({ ...sync, ipCidr: "", peers: [] }, signal);
    return { status, written: Promise.resolve() };
  }

  protected override async update(sync: ServiceSync, signal?: AbortSignal): Promise<void> {
    await this.implementation.updateService({ ...sync, ipCidr: "", peers: [] }, signal);
  }

  protected override async remove(target: ServiceTarget, signal?: AbortSignal): Promise<void> {
    await this.implementation.removeService({ ...target, ipCidr: "" }, signal);
  }
}
