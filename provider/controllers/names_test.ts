import assert from "node:assert/strict";
import { selectControllers } from "./names.ts";

const cases: Array<{ name: string; given: string[]; want: string[] }> = [
  {
    name: "* enables every controller",
    given: ["*"],
    want: [
      "cloud-node-controller",
      "cloud-node-lifecycle-controller",
      "service-lb-controller",
      "node-route-controller",
    ],
  },
  {
    name: "-name disables one after *",
    given: ["*", "-route"],
    want: ["cloud-node-controller", "cloud-node-lifecycle-controller", "service-lb-controller"],
  },
  {
    name: "-name wins even before *",
    given: ["-service-lb-controller", "*"],
    want: ["cloud-node-controller", "cloud-node-lifecycle-controller", "node-route-controller"],
  },
  {
    name: "aliases enable canonical names",
    given: ["cloud-node", "service"],
    want: ["cloud-node-controller", "service-lb-controller"],
  },
  {
    name: "comma-separated values are split",
    given: ["cloud-node-lifecycle,service"],
    want: ["cloud-node-lifecycle-controller", "service-lb-controller"],
  },
  { name: "nothing selects nothing", given: [], want: [] },
  { name: "only disables select nothing", given: ["-cloud-node"], want: [] },
];

for (const c of cases) {
  Deno.test(`selectControllers(): ${c.name}`, () => {
    assert.deepEqual([...selectControllers(c.given)], c.want);
  });
}

Deno.test("selectControllers() names the unknown entry and the valid names", () => {
  assert.throws(
    () => selectControllers(["*", "-nodeipam"]),
    /Invalid --controllers entry '-nodeipam': unknown controller; use '\*', a name or '-name' with one of 'cloud-node-controller'/,
  );
});
