import { deepEqual, equal } from "node:assert/strict";
import { eipLocation } from "./eip.ts";
import { makeService } from "./testing.ts";

const settings = {
  annotationEipMetro: "metal.equinix.com/eip-metro",
  annotationEipFacility: "metal.equinix.com/eip-facility",
  metro: "sv",
  facility: "sv15",
};

Deno.test("eipLocation() order: metro annotation > facility annotation > METAL_METRO_NAME > METAL_FACILITY_NAME (upstream §12.2)", () => {
  const both = makeService("d", "s", {
    annotations: { "metal.equinix.com/eip-metro": "da", "metal.equinix.com/eip-facility": "ny5" },
  });
  deepEqual(eipLocation(both, settings), { metro: "da", source: 'annotation "metal.equinix.com/eip-metro"' });
  const facility = makeService("d", "s", { annotations: { "metal.equinix.com/eip-facility": "ny5" } });
  deepEqual(eipLocation(facility, settings), {
    facility: "ny5",
    source: 'annotation "metal.equinix.com/eip-facility"',
  });
  deepEqual(eipLocation(makeService("d", "s"), settings), { metro: "sv", source: "METAL_METRO_NAME" });
  deepEqual(eipLocation(makeService("d", "s"), { ...settings, metro: "" }), {
    facility: "sv15",
    source: "METAL_FACILITY_NAME",
  });
  equal(eipLocation(makeService("d", "s"), { ...settings, metro: "", facility: "" }), undefined);
});

Deno.test("eipLocation() reads the configured annotation keys and ignores blank values", () => {
  const custom = { ...settings, annotationEipMetro: "example.com/metro" };
  const svc = makeService("d", "s", {
    annotations: { "example.com/metro": "fr", "metal.equinix.com/eip-metro": "da" },
  });
  equal(eipLocation(svc, custom)?.metro, "fr");
  const blank = makeService("d", "s", { annotations: { "metal.equinix.com/eip-metro": "  " } });
  equal(eipLocation(blank, settings)?.metro, "sv");
});
