/**
 * Metal IP routes: project reservations (list, request), `/ips/{id}` (get, update, delete — a reservation id
 * deletes the reservation, an assignment id unassigns), device assignments (list, assign).
 *
 * @module
 */
import type { Hono } from "hono";
import { unprocessable } from "../api_error.ts";
import { deviceParam, ipParam, projectParam } from "../auth.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import {
  assignIp,
  availableAddresses,
  deleteReservation,
  reserveIps,
  unassignIp,
  updateIp,
} from "../domain/ips.ts";
import { recordAssignmentEvent, recordReservationEvent } from "../domain/account.ts";
import { queryList, readJson, searchParams } from "../http.ts";
import { IP_PAGES, paginate, parsePageRequest } from "../pagination.ts";
import { renderAssignment, renderReservation } from "../render/ip.ts";
import { IPAssignmentInput, IPAssignmentUpdateInput, IPReservationRequestInput } from "../schemas/inputs.ts";
import { expandOf } from "./expand_query.ts";

/** Values of the `types` filter (official enum; `vrf` is accepted and matches nothing here). */
const IP_TYPES = ["global_ipv4", "private_ipv4", "public_ipv4", "public_ipv6", "vrf"];

/** Registers the IP routes on the Metal app. */
export function ipRoutes(app: Hono<AppEnv>, { store }: RouteDeps): void {
  app.get("/projects/:id/ips", (c) => {
    const project = projectParam(c, store);
    const query = searchParams(c);
    const pageReq = parsePageRequest(query, IP_PAGES);
    const types = queryList(query, "types");
    for (const t of types) {
      if (!IP_TYPES.includes(t)) {
        throw unprocessable(
          `Invalid types value "${t}"; valid values are ${IP_TYPES.map((v) => `"${v}"`).join(", ")}`,
        );
      }
    }
    const ex = expandOf(query);
    let reservations = store.reservationsOf(project.id);
    if (types.length > 0) reservations = reservations.filter((r) => types.includes(r.type));
    const { items, meta } = paginate(reservations, pageReq, `/projects/${project.id}/ips`, query);
    return c.json({ ip_addresses: items.map((r) => renderReservation(store, r, ex)), meta });
  });

  app.post("/projects/:id/ips", async (c) => {
    const project = projectParam(c, store);
    const body = await readJson(c, IPReservationRequestInput);
    const reservation = reserveIps(store, project.id, {
      type: body.type,
      quantity: body.quantity,
      metro: body.metro,
      facility: body.facility,
      tags: body.tags,
      details: body.details,
      customdata: body.customdata,
      failOnApprovalRequired: body.fail_on_approval_required,
    });
    recordReservationEvent(store, reservation, "created");
    await store.commit();
    return c.json(renderReservation(store, reservation, expandOf(searchParams(c))), 201);
  });

  app.get("/ips/:id", (c) => {
    const target = ipParam(c, store);
    const ex = expandOf(searchParams(c));
    return c.json(
      target.reservation
        ? renderReservation(store, target.reservation, ex)
        : renderAssignment(store, target.assignment!, ex),
    );
  });

  app.get("/ips/:id/available", (c) => {
    const target = ipParam(c, store);
    if (!target.reservation) {
      throw unprocessable(
        `"${target.assignment!.id}" is an IP assignment; list available addresses of its reservation instead`,
      );
    }
    return c.json({ available: availableAddresses(store, target.reservation, searchParams(c).get("cidr")) });
  });

  app.patch("/ips/:id", async (c) => {
    const target = ipParam(c, store);
    const body = await readJson(c, IPAssignmentUpdateInput);
    updateIp(target, { tags: body.tags, details: body.details, customdata: body.customdata });
    await store.commit();
    const ex = expandOf(searchParams(c));
    return c.json(
      target.reservation
        ? renderReservation(store, target.reservation, ex)
        : renderAssignment(store, target.assignment!, ex),
    );
  });

  app.delete("/ips/:id", async (c) => {
    const target = ipParam(c, store);
    if (target.reservation) {
      deleteReservation(store, target.reservation);
      recordReservationEvent(store, target.reservation, "deleted");
    } else {
      recordAssignmentEvent(store, target.assignment!, "deleted");
      unassignIp(store, target.assignment!);
    }
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/devices/:id/ips", (c) => {
    const device = deviceParam(c, store);
    const ex = expandOf(searchParams(c));
    return c.json({
      ip_addresses: device.ipIds.map((id) => renderAssignment(store, store.assignments.get(id)!, ex)),
    });
  });

  app.post("/devices/:id/ips", async (c) => {
    const device = deviceParam(c, store);
    const body = await readJson(c, IPAssignmentInput);
    const assignment = assignIp(store, device, body.address);
    recordAssignmentEvent(store, assignment, "created");
    await store.commit();
    return c.json(renderAssignment(store, assignment, expandOf(searchParams(c))), 201);
  });
}
