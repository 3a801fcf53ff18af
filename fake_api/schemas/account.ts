/**
 * Response schemas of the account routes (user, organization, SSH keys, events, hardware reservations), written
 * from the official Metal v1 OpenAPI schema; strict, like the others.
 *
 * @module
 */
import { z } from "zod";
import { Address, AnyObject, DateTime, Facility, Href, Meta, orHref, Plan, Project, Uuid } from "./common.ts";

/** Official `User`. */
export const User = z.strictObject({
  id: Uuid,
  short_id: z.string().optional(),
  href: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  full_name: z.string().optional(),
  email: z.string().optional(),
  emails: z.array(Href).optional(),
  avatar_url: z.string().optional(),
  avatar_thumb_url: z.string().optional(),
  phone_number: z.string().optional(),
  timezone: z.string().optional(),
  two_factor_auth: z.string().optional(),
  fraud_score: z.string().optional(),
  max_organizations: z.int().optional(),
  max_projects: z.int().optional(),
  customdata: AnyObject.optional(),
  default_organization_id: Uuid.optional(),
  default_project_id: Uuid.optional(),
  created_at: DateTime.optional(),
  updated_at: DateTime.optional(),
  last_login_at: DateTime.optional(),
});

/** Official `Organization`. */
export const Organization = z.strictObject({
  id: Uuid,
  name: z.string(),
  description: z.string().optional(),
  href: z.string().optional(),
  created_at: DateTime.optional(),
  updated_at: DateTime.optional(),
  customdata: AnyObject.optional(),
  credit_amount: z.number().optional(),
  enforce_2fa_at: DateTime.optional(),
  logo: z.string().optional(),
  terms: z.int().optional(),
  twitter: z.string().optional(),
  website: z.string().optional(),
  address: Address.optional(),
  billing_address: Address.optional(),
  members: z.array(Href).optional(),
  memberships: z.array(Href).optional(),
  projects: z.array(Href).optional(),
});

/** Official `OrganizationList`. */
export const OrganizationList = z.strictObject({ organizations: z.array(Organization), meta: Meta });

/** Official `SSHKey`. */
export const SSHKey = z.strictObject({
  id: Uuid,
  label: z.string(),
  key: z.string(),
  fingerprint: z.string(),
  tags: z.array(z.string()),
  href: z.string(),
  entity: Href,
  created_at: DateTime,
  updated_at: DateTime,
});

/** Official `SSHKeyList` (not paginated). */
export const SSHKeyList = z.strictObject({ ssh_keys: z.array(SSHKey) });

/** Official `Event`. */
export const Event = z.strictObject({
  id: Uuid,
  type: z.string(),
  body: z.string(),
  interpolated: z.string(),
  state: z.string(),
  href: z.string(),
  relationships: z.array(Href),
  modified_by: AnyObject.optional(),
  ip: z.string().optional(),
  created_at: DateTime,
});

/** Official `EventList`. */
export const EventList = z.strictObject({ events: z.array(Event), meta: Meta });

/** Official `HardwareReservation` (`device` absent: the simulator's reservations are never provisioned). */
export const HardwareReservation = z.strictObject({
  id: Uuid,
  short_id: z.string(),
  href: z.string(),
  created_at: DateTime,
  facility: Facility,
  plan: Plan,
  project: orHref(Project),
  provisionable: z.boolean(),
  spare: z.boolean(),
  need_of_service: z.boolean(),
  custom_rate: z.number(),
  switch_uuid: z.string(),
  termination_time: DateTime.optional(),
});

/** Official `HardwareReservationList`. */
export const HardwareReservationList = z.strictObject({
  hardware_reservations: z.array(HardwareReservation),
  meta: Meta,
});
