/**
 * Metal pagination: `page`/`per_page` query parameters and the `meta` object with first/last/next/previous/self
 * hrefs. Hrefs are relative to the API base (`/projects/<id>/devices?page=2&per_page=10`), which is how both
 * official clients resolve them; `previous`/`next` are absent on the first/last page.
 *
 * @module
 */
import { ApiError } from "./api_error.ts";

/** Page size limits of one list operation. */
export interface PageLimits {
  defaultPerPage: number;
  maxPerPage: number;
}

/** Devices and projects: default 10, max 1000 (official `PerPage` parameter). */
export const DEVICE_PAGES: PageLimits = { defaultPerPage: 10, maxPerPage: 1000 };
/** IP reservations: default 250, max 1000. */
export const IP_PAGES: PageLimits = { defaultPerPage: 250, maxPerPage: 1000 };

const MAX_PAGE = 100000;

/** A requested page. */
export interface PageRequest {
  page: number;
  perPage: number;
}

function parseBounded(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new ApiError(422, `Invalid ${name} "${text}": it must be an integer from 1 to ${max}`);
  }
  return Number(text);
}

/** Reads `page` and `per_page` from the query, throwing 422 when they are out of range. */
export function parsePageRequest(query: URLSearchParams, limits: PageLimits): PageRequest {
  return {
    page: parseBounded("page", query.get("page") ?? undefined, 1, MAX_PAGE),
    perPage: parseBounded(
      "per_page",
      query.get("per_page") ?? undefined,
      limits.defaultPerPage,
      limits.maxPerPage,
    ),
  };
}

/** Cuts one page out of `items` and builds its `meta`. `path` is relative to the API base (`/projects/x/ips`). */
export function paginate<T>(
  items: readonly T[],
  req: PageRequest,
  path: string,
  query: URLSearchParams,
): { items: T[]; meta: Record<string, unknown> } {
  const total = items.length;
  const lastPage = Math.max(1, Math.ceil(total / req.perPage));
  const start = (req.page - 1) * req.perPage;
  const link = (page: number) => {
    const q = new URLSearchParams(query);
    q.set("page", String(page));
    q.set("per_page", String(req.perPage));
    return { href: `${path}?${q}` };
  };
  const meta: Record<string, unknown> = {
    first: link(1),
    last: link(lastPage),
    self: link(req.page),
    total,
    "current_page": req.page,
    "last_page": lastPage,
  };
  if (req.page > 1) meta.previous = link(Math.min(req.page - 1, lastPage));
  if (req.page < lastPage) meta.next = link(req.page + 1);
  return { items: items.slice(start, start + req.perPage), meta };
}
