import { equal, ok, throws } from "node:assert/strict";
import { NodeNotManagedError } from "../provider/mod.ts";
import {
  deviceIdFromProviderId,
  ownDeviceId,
  PROVIDER_ID_PREFIX,
  providerIdFromDeviceId,
} from "./provider_id.ts";

const ID = "4f1a7c0e-6b5d-4c3e-8a2f-0d9e8c7b6a51";

Deno.test("providerIdFromDeviceId() writes equinixmetal://<uuid>", () => {
  equal(providerIdFromDeviceId(ID), `equinixmetal://${ID}`);
  equal(PROVIDER_ID_PREFIX, "equinixmetal://");
});

Deno.test("deviceIdFromProviderId() accepts our prefix, the legacy packet prefix and a bare id", () => {
  equal(deviceIdFromProviderId(`equinixmetal://${ID}`), ID);
  equal(deviceIdFromProviderId(`packet://${ID}`), ID);
  equal(deviceIdFromProviderId(ID), ID);
  equal(deviceIdFromProviderId("equinixmetal://"), "");
});

Deno.test("deviceIdFromProviderId() rejects an empty providerID", () => {
  throws(() => deviceIdFromProviderId(""), { message: "providerID cannot be empty string" });
});

Deno.test("deviceIdFromProviderId() marks another provider's node as not managed", () => {
  let caught: unknown;
  try {
    deviceIdFromProviderId(`aws://${ID}`);
  } catch (err) {
    caught = err;
  }
  ok(caught instanceof NodeNotManagedError);
  equal(caught.message, "provider name from providerID should be equinixmetal, was aws");
});

Deno.test("deviceIdFromProviderId() rejects more than one '://'", () => {
  throws(() => deviceIdFromProviderId(`equinixmetal://x://${ID}`), (err: Error) => {
    ok(!(err instanceof NodeNotManagedError));
    equal(
      err.message,
      `unexpected providerID format: equinixmetal://x://${ID}, format should be: 'device-id' or 'equinixmetal://device-id'`,
    );
    return true;
  });
});

Deno.test("ownDeviceId() is the device id of our nodes and undefined for every other providerID", () => {
  equal(ownDeviceId(`equinixmetal://${ID}`), ID);
  equal(ownDeviceId(`packet://${ID}`), ID);
  for (const other of [undefined, "", "equinixmetal://", "aws:///us-east-1a/i-1", "a://b://c"]) {
    equal(ownDeviceId(other), undefined, String(other));
  }
});
