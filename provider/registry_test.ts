import { equal, throws } from "node:assert/strict";
import type { CloudProvider } from "./cloud.ts";
import {
  getCloudProviderFactory,
  registerCloudProvider,
  registeredCloudProviders,
  unregisterCloudProvider,
} from "./registry.ts";

function factory(): CloudProvider {
  throw new Error("not called");
}

Deno.test("registerCloudProvider() makes a factory available by name", () => {
  registerCloudProvider("test-a", factory);
  try {
    equal(getCloudProviderFactory("test-a"), factory);
    equal(registeredCloudProviders().includes("test-a"), true);
  } finally {
    unregisterCloudProvider("test-a");
  }
  equal(registeredCloudProviders().includes("test-a"), false);
});

Deno.test("registerCloudProvider() refuses a second provider with the same name", () => {
  registerCloudProvider("test-b", factory);
  try {
    throws(() => registerCloudProvider("test-b", factory), /Cannot register cloud provider 'test-b'/);
  } finally {
    unregisterCloudProvider("test-b");
  }
});

Deno.test("getCloudProviderFactory() names the registered providers, sorted, when the name is unknown", () => {
  registerCloudProvider("zeta", factory);
  registerCloudProvider("alpha", factory);
  try {
    throws(
      () => getCloudProviderFactory("packet"),
      /^Error: Cannot use cloud provider 'packet': it is not registered; registered providers: 'alpha', 'zeta'$/,
    );
  } finally {
    unregisterCloudProvider("zeta");
    unregisterCloudProvider("alpha");
  }
  throws(() => getCloudProviderFactory("packet"), /registered providers: none$/);
});
