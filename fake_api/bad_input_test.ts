/**
 * The bad-input corpus: every case must get a 4xx whose message names the problem, and must not change state.
 */
import assert from "node:assert/strict";
import { LBAAS_PROVIDER_ID } from "./domain/lbaas.ts";
import { MAX_BODY_BYTES } from "./http.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID } from "./testing.ts";

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
}

Deno.test("bad input gets a clear 4xx and never changes state", async () => {
  const api = await createTestApi();
  const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;
  const device =
    (await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: "n1" } }))
      .body;
  const D = `/metal/v1/devices/${device.id}`;
  const eip =
    (await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } })).body;
  const exchange = await api.call("POST", "/iam/api-keys/exchange", {
    token: null,
    headers: { Authorization: `Bearer ${TEST_API_KEY}` },
  });
  const bearer = { Authorization: `Bearer ${exchange.body.access_token}` };
  const lb = (await api.call("POST", `/lbaas/v1/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    token: null,
    headers: bearer,
    body: { name: "lb", location_id: "lctnloc-H5rl2M2VL5dcFmdxhbEKx", provider_id: LBAAS_PROVIDER_ID },
  })).body;
  const pool = (await api.call("POST", `/lbaas/v1/projects/${TEST_PROJECT_ID}/loadbalancers/pools`, {
    token: null,
    headers: bearer,
    body: { name: "p", protocol: "tcp" },
  })).body;
  const good = { plan: "c3.small.x86", metro: "sv", "operating_system": "ubuntu_24_04" };
  const json = { "Content-Type": "application/json" };

  const cases: Case[] = [
    {
      name: "malformed JSON",
      method: "POST",
      path: `${P}/devices`,
      body: '{"plan":',
      status: 400,
      message: /Malformed JSON/,
    },
    {
      name: "JSON array body",
      method: "POST",
      path: `${P}/devices`,
      body: "[1]",
      status: 422,
      message: /expected a JSON object/,
    },
    {
      name: "empty body",
      method: "POST",
      path: `${P}/devices`,
      body: "",
      status: 422,
      message: /Request body is required/,
    },
    {
      name: "wrong content type",
      method: "POST",
      path: `${P}/devices`,
      body: JSON.stringify(good),
      headers: { "Content-Type": "text/plain" },
      status: 415,
      message: /Unsupported Content-Type "text\/plain"/,
    },
    {
      name: "oversized body",
      method: "POST",
      path: `${P}/devices`,
      body: JSON.stringify({ ...good, userdata: "x".repeat(MAX_BODY_BYTES) }),
      status: 413,
      message: /larger than/,
    },
    {
      name: "invalid UTF-8",
      method: "POST",
      path: `${P}/devices`,
      body: new Uint8Array([0x7b, 0xff, 0x7d]),
      headers: json,
      status: 400,
      message: /UTF-8/,
    },
    {
      name: "plan wrong type",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, plan: 5 },
      status: 422,
      message: /"plan"/,
    },
    {
      name: "missing operating_system",
      method: "POST",
      path: `${P}/devices`,
      body: { plan: "c3.small.x86", metro: "sv" },
      status: 422,
      message: /"operating_system" is required/,
    },
    {
      name: "unknown billing_cycle enum",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, billing_cycle: "weekly" },
      status: 422,
      message: /"billing_cycle"/,
    },
    {
      name: "unknown plan",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, plan: "x9" },
      status: 422,
      message: /Unknown plan "x9"/,
    },
    {
      name: "unknown operating system",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, operating_system: "windows" },
      status: 422,
      message: /Unknown operating_system "windows"/,
    },
    {
      name: "invalid hostname",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, hostname: "bad_host!" },
      status: 422,
      message: /"hostname": must be a valid host name/,
    },
    {
      name: "tags not an array",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, tags: "a" },
      status: 422,
      message: /"tags"/,
    },
    {
      name: "metro and facility",
      method: "POST",
      path: `${P}/devices`,
      body: { ...good, facility: "sv15" },
      status: 422,
      message: /either "metro" or "facility"/,
    },
    {
      name: "no location",
      method: "POST",
      path: `${P}/devices`,
      body: { plan: "c3.small.x86", operating_system: "ubuntu_24_04" },
      status: 422,
      message: /"metro" is required/,
    },
    {
      name: "non-UUID project",
      method: "POST",
      path: "/metal/v1/projects/abc/devices",
      body: good,
      status: 404,
      message: /UUID/,
    },
    {
      name: "locked not boolean",
      method: "PUT",
      path: D,
      body: { locked: "yes" },
      status: 422,
      message: /"locked"/,
    },
    {
      name: "unknown action",
      method: "POST",
      path: `${D}/actions`,
      body: { type: "explode" },
      status: 422,
      message: /"type"/,
    },
    {
      name: "missing action type",
      method: "POST",
      path: `${D}/actions`,
      body: {},
      status: 422,
      message: /"type" is required/,
    },
    {
      name: "non-UUID device action",
      method: "POST",
      path: "/metal/v1/devices/abc/actions",
      body: { type: "reboot" },
      status: 404,
      message: /UUID/,
    },
    {
      name: "negative quantity",
      method: "POST",
      path: `${P}/ips`,
      body: { type: "public_ipv4", quantity: -1, metro: "sv" },
      status: 422,
      message: /"quantity"/,
    },
    {
      name: "quantity as string",
      method: "POST",
      path: `${P}/ips`,
      body: { type: "public_ipv4", quantity: "1", metro: "sv" },
      status: 422,
      message: /"quantity"/,
    },
    {
      name: "fractional quantity",
      method: "POST",
      path: `${P}/ips`,
      body: { type: "public_ipv4", quantity: 1.5, metro: "sv" },
      status: 422,
      message: /"quantity"/,
    },
    {
      name: "missing type",
      method: "POST",
      path: `${P}/ips`,
      body: { quantity: 1, metro: "sv" },
      status: 422,
      message: /"type" is required/,
    },
    {
      name: "tag not a string",
      method: "POST",
      path: `${P}/ips`,
      body: { type: "public_ipv4", quantity: 1, metro: "sv", tags: [1] },
      status: 422,
      message: /"tags\.0"/,
    },
    {
      name: "missing address",
      method: "POST",
      path: `${D}/ips`,
      body: {},
      status: 422,
      message: /"address" is required/,
    },
    {
      name: "tags not array on PATCH",
      method: "PATCH",
      path: `/metal/v1/ips/${eip.id}`,
      body: { tags: "x" },
      status: 422,
      message: /"tags"/,
    },
    {
      name: "per_page 0",
      method: "GET",
      path: `${P}/devices?per_page=0`,
      status: 422,
      message: /Invalid per_page "0"/,
    },
    {
      name: "per_page too big",
      method: "GET",
      path: `${P}/ips?per_page=5000`,
      status: 422,
      message: /from 1 to 1000/,
    },
    {
      name: "bad boolean filter",
      method: "GET",
      path: `${P}/devices?reserved=maybe`,
      status: 422,
      message: /Invalid reserved "maybe"/,
    },
    {
      name: "negative asn",
      method: "POST",
      path: `${P}/bgp-configs`,
      body: { asn: -1, deployment_type: "local" },
      status: 422,
      message: /"asn"/,
    },
    {
      name: "asn too large",
      method: "POST",
      path: `${P}/bgp-configs`,
      body: { asn: 4294967296, deployment_type: "local" },
      status: 422,
      message: /"asn"/,
    },
    {
      name: "unknown deployment_type",
      method: "POST",
      path: `${P}/bgp-configs`,
      body: { asn: 65000, deployment_type: "regional" },
      status: 422,
      message: /"deployment_type"/,
    },
    {
      name: "missing asn",
      method: "POST",
      path: `${P}/bgp-configs`,
      body: { deployment_type: "local" },
      status: 422,
      message: /"asn" is required/,
    },
    {
      name: "unknown address_family",
      method: "POST",
      path: `${D}/bgp/sessions`,
      body: { address_family: "ipv5" },
      status: 422,
      message: /"address_family"/,
    },
    {
      name: "LB port number as string",
      method: "POST",
      path: `/lbaas/v1/loadbalancers/${lb.id}/ports`,
      body: { name: "p", number: "80" },
      headers: bearer,
      status: 422,
      message: /"number"/,
    },
    {
      name: "LB port number out of range",
      method: "POST",
      path: `/lbaas/v1/loadbalancers/${lb.id}/ports`,
      body: { name: "p", number: 70000 },
      headers: bearer,
      status: 422,
      message: /Invalid number 70000/,
    },
    {
      name: "pool protocol http",
      method: "POST",
      path: `/lbaas/v1/projects/${TEST_PROJECT_ID}/loadbalancers/pools`,
      body: { name: "p", protocol: "http" },
      headers: bearer,
      status: 422,
      message: /"protocol"/,
    },
    {
      name: "origin missing name",
      method: "POST",
      path: `/lbaas/v1/loadbalancers/pools/${pool.id}/origins`,
      body: { target: "10.0.0.1", port_number: 80, active: true, pool_id: pool.id },
      headers: bearer,
      status: 422,
      message: /"name" is required/,
    },
    {
      name: "LB with unknown pool",
      method: "POST",
      path: `/lbaas/v1/loadbalancers/${lb.id}/ports`,
      body: { name: "p", number: 80, pool_ids: ["loadpol-missing"] },
      headers: bearer,
      status: 422,
      message: /Unknown pool id "loadpol-missing"/,
    },
    {
      name: "SSH key without key",
      method: "POST",
      path: `${P}/ssh-keys`,
      body: { label: "me" },
      status: 422,
      message: /"key"/,
    },
    {
      name: "SSH key that is a private key",
      method: "POST",
      path: `${P}/ssh-keys`,
      body: { label: "me", key: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n" },
      status: 422,
      message: /Invalid key: it must be an OpenSSH public key line/,
    },
    {
      name: "SSH key whose blob does not match its type",
      method: "POST",
      path: `${P}/ssh-keys`,
      body: { key: `ssh-rsa ${btoa("\u0000\u0000\u0000\u000bssh-ed25519")}` },
      status: 422,
      message: /Invalid key/,
    },
    {
      name: "user SSH key with a project API key",
      method: "POST",
      path: "/metal/v1/ssh-keys",
      body: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA" },
      status: 403,
      message: /project API key cannot add user SSH keys/,
    },
    {
      name: "SSH key id that is not a UUID",
      method: "PUT",
      path: "/metal/v1/ssh-keys/not-a-uuid",
      body: { label: "x" },
      status: 404,
      message: /SSH key "not-a-uuid" \(ids are UUIDs/,
    },
    {
      name: "unknown organization",
      method: "GET",
      path: "/metal/v1/organizations/00000000-0000-4000-8000-000000000000",
      status: 404,
      message: /organization "00000000-0000-4000-8000-000000000000"/,
    },
    {
      name: "unknown event",
      method: "GET",
      path: "/metal/v1/events/00000000-0000-4000-8000-000000000000",
      status: 404,
      message: /event "00000000-0000-4000-8000-000000000000"/,
    },
    {
      name: "unknown hardware reservation",
      method: "GET",
      path: "/metal/v1/hardware-reservations/00000000-0000-4000-8000-000000000000",
      status: 404,
      message: /hardware reservation/,
    },
    {
      name: "events page out of range",
      method: "GET",
      path: `${D}/events?per_page=0`,
      status: 422,
      message: /Invalid per_page "0"/,
    },
  ];

  for (const c of cases) {
    const before = JSON.stringify(api.store.snapshot());
    const isRaw = typeof c.body === "string" || c.body instanceof Uint8Array;
    const headers: Record<string, string> = {
      ...(c.path.startsWith("/lbaas") ? {} : { "X-Auth-Token": TEST_API_KEY }),
      ...(c.body !== undefined ? json : {}),
      ...c.headers,
    };
    const res = await api.app.request(c.path, {
      method: c.method,
      headers,
      body: c.body === undefined ? undefined : isRaw ? c.body as BodyInit : JSON.stringify(c.body),
    });
    const body = await res.json();
    assert.equal(res.status, c.status, `${c.name}: status (${JSON.stringify(body)})`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, c.name);
    assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `${c.name}: errors array`);
    assert.match(body.errors.join(", "), c.message, c.name);
    assert.equal(JSON.stringify(api.store.snapshot()), before, `${c.name}: state unchanged`);
  }
});
