/**
 * Projects and API keys (created by seeds and the admin API; the simulated Metal API only reads them).
 *
 * @module
 */
import { ApiError, unprocessable } from "../api_error.ts";
import { newApiKey, newUuid } from "../ids.ts";
import { type ApiKeyRecord, isoTime, type ProjectRecord } from "../model.ts";
import type { Store } from "../store.ts";

/** Creates a project; `asn` enables local BGP with that ASN right away. */
export function createProject(
  store: Store,
  spec: { id?: string; name: string; asn?: number; md5?: string },
): ProjectRecord {
  const id = spec.id ?? newUuid();
  if (store.projects.has(id)) throw new ApiError(409, `Project "${id}" already exists`);
  const now = isoTime(store.clock.now());
  const project: ProjectRecord = { id, name: spec.name, createdAt: now, updatedAt: now };
  if (spec.asn !== undefined) {
    project.bgp = {
      id: newUuid(),
      asn: spec.asn,
      deploymentType: "local",
      status: "enabled",
      md5: spec.md5 || null,
      createdAt: now,
      requestedAt: now,
    };
  }
  store.addProject(project);
  return project;
}

/** Creates an API key; without `projectIds` it is a user key that sees every project. */
export function createApiKey(store: Store, spec: { token?: string; projectIds?: string[] }): ApiKeyRecord {
  const token = spec.token ?? newApiKey();
  if (store.apiKeys.has(token)) throw new ApiError(409, "An API key with this token already exists");
  for (const id of spec.projectIds ?? []) {
    if (!store.projects.has(id)) {
      throw unprocessable(`Unknown project "${id}" in project_ids; create it first`);
    }
  }
  const key: ApiKeyRecord = { id: newUuid(), token, createdAt: isoTime(store.clock.now()) };
  if (spec.projectIds) key.projectIds = spec.projectIds;
  store.addApiKey(key);
  return key;
}

/** True when the key may see the project. */
export function canSee(key: ApiKeyRecord, projectId: string): boolean {
  return key.projectIds === undefined || key.projectIds.includes(projectId);
}
