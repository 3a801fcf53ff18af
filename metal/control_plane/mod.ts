/**
 * Control-plane endpoint management (upstream's metal/eip_controlplane_reconciliation.go): the health-checked
 * control-plane elastic IP (`METAL_EIP_TAG`) with its external Service and EndpointSlice, and the
 * control-plane load balancer pool (`METAL_LOAD_BALANCER_ID`); `createControlPlaneController` (setup.ts)
 * builds the loop.
 *
 * @module
 */
export {
  CONTROL_PLANE_CONTROLLER_NAME,
  ControlPlaneEndpointController,
  type ControlPlaneEndpointOptions,
  type ControlPlaneTiming,
  DEFAULT_CONTROL_PLANE_TIMING,
} from "./controller.ts";
export { EIP_EVENT_REASONS } from "./eip_manager.ts";
export { CONTROL_PLANE_METRIC_NAMES } from "./metrics.ts";
export {
  CONTROL_PLANE_FIELD_MANAGER,
  EXTERNAL_SERVICE_NAME,
  EXTERNAL_SERVICE_NAMESPACE,
  isExternalControlPlaneService,
} from "./names.ts";

export { type ControlPlaneSetup, createControlPlaneController } from "./setup.ts";
