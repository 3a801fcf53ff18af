/**
 * Metal catalogue and project routes: metros, facilities, plans, operating systems, projects.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { notFound } from "../api_error.ts";
import { projectParam } from "../auth.ts";
import { FACILITIES, METROS, OPERATING_SYSTEMS, PLANS } from "../catalog.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import { canSee } from "../domain/projects.ts";
import { searchParams, uuidParam } from "../http.ts";
import { DEVICE_PAGES, paginate, parsePageRequest } from "../pagination.ts";
import { renderFacility, renderMetro, renderOs, renderPlan, renderProject } from "../render/catalog.ts";
import { Expand } from "../render/expand.ts";
import { expandOf } from "./expand_query.ts";

/** Registers catalogue and project routes on the Metal app. */
export function catalogRoutes(app: Hono<AppEnv>, { store }: RouteDeps): void {
  app.get("/locations/metros", (c) => c.json({ metros: [...METROS.values()].map(renderMetro) }));

  app.get("/locations/metros/:id", (c) => {
    const id = uuidParam(c, "id", "metro");
    const metro = [...METROS.values()].find((m) => m.id === id);
    if (!metro) throw notFound(`metro "${id}"`);
    return c.json(renderMetro(metro));
  });

  const facilities = (c: Context<AppEnv>) => {
    const query = searchParams(c);
    const ex = query.has("include") || query.has("exclude") ? expandOf(query) : Expand.NONE;
    return c.json({ facilities: [...FACILITIES.values()].map((f) => renderFacility(f, ex)) });
  };
  app.get("/facilities", facilities);
  // Every project sees the whole catalogue (the simulator has no per-project restrictions).
  app.get("/projects/:id/facilities", (c) => {
    projectParam(c, store);
    return facilities(c);
  });

  const plans = (c: Context<AppEnv>) => {
    const slug = searchParams(c).get("slug");
    const plans = [...PLANS.values()].filter((p) => !slug || p.slug === slug);
    return c.json({ plans: plans.map(renderPlan) });
  };
  app.get("/plans", plans);
  app.get("/projects/:id/plans", (c) => {
    projectParam(c, store);
    return plans(c);
  });

  app.get(
    "/operating-systems",
    (c) => c.json({ operating_systems: [...OPERATING_SYSTEMS.values()].map(renderOs) }),
  );

  app.get("/projects", (c) => {
    const query = searchParams(c);
    const pageReq = parsePageRequest(query, DEVICE_PAGES);
    const name = query.get("name");
    const key = c.get("apiKey");
    const projects = [...store.projects.values()].filter((p) =>
      canSee(key, p.id) && (!name || p.name === name)
    );
    const { items, meta } = paginate(projects, pageReq, "/projects", query);
    return c.json({ projects: items.map((p) => renderProject(store, p)), meta });
  });

  app.get("/projects/:id", (c) => c.json(renderProject(store, projectParam(c, store))));
}
