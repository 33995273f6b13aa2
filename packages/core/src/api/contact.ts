/**
 * The patient's contact edit as a change to one Patient version: only the named fields are replaced,
 * everything else is kept as it is (`applyContactChange`), and what changed is listed for the
 * person's confirmation (`contactFieldChanges`). The bridge applies it to the FHIR server's current
 * version; the elements' fixture source applies it the same way.
 */
import type { ContactChange } from './read.js';

interface ContactPointLike {
  system?: string;
  value?: string;
  use?: string;
  [key: string]: unknown;
}
interface AddressLike {
  line?: string[];
  city?: string;
  postalCode?: string;
  country?: string;
  [key: string]: unknown;
}
/** The part of a FHIR Patient a contact change touches; every other field passes through untouched. */
export interface PatientContactLike {
  resourceType: string;
  telecom?: ContactPointLike[];
  address?: AddressLike[];
  [key: string]: unknown;
}

export type ContactField = 'phone' | 'email' | 'line' | 'city' | 'postalCode' | 'country';

/** One field a contact change changed: its shown value before and after ('' = none). */
export interface ContactFieldChange {
  field: ContactField;
  before: string;
  after: string;
}

function setTelecom(telecom: ContactPointLike[], system: 'phone' | 'email', value: string | null): void {
  const at = telecom.findIndex((t) => t.system === system);
  if (value === null) {
    if (at >= 0) telecom.splice(at, 1);
  } else if (at >= 0) {
    // Only the value: use, rank, period, id and extensions of the entry stay.
    if (telecom[at]!.value !== value) telecom[at] = { ...telecom[at], value };
  } else {
    telecom.push(system === 'phone' ? { system, value, use: 'home' } : { system, value });
  }
}

/**
 * `patient` with `change` applied (a copy; `patient` is not modified). The first phone and the
 * first email entry of `telecom` get the new value (added when absent, removed for `null`); the
 * first address gets the named fields. Nothing else changes: key order, other entries, extensions
 * and unknown fields are kept, so a change that names no new value returns an equal resource.
 */
export function applyContactChange<T extends { resourceType: string }>(patient: T, change: ContactChange): T {
  const next = structuredClone(patient) as unknown as PatientContactLike;
  if (change.phone !== undefined || change.email !== undefined) {
    const telecom = next.telecom ? next.telecom : [];
    if (change.phone !== undefined) setTelecom(telecom, 'phone', change.phone);
    if (change.email !== undefined) setTelecom(telecom, 'email', change.email);
    if (telecom.length) next.telecom = telecom;
    else delete next.telecom;
  }
  const a = change.address;
  if (a && Object.values(a).some((v) => v !== undefined)) {
    const addresses = next.address ? next.address : [];
    const first: AddressLike = addresses[0] ? addresses[0] : { use: 'home' };
    for (const key of ['line', 'city', 'postalCode', 'country'] as const) {
      const value = a[key];
      if (value === undefined) continue;
      if (value === null) delete first[key];
      else if (JSON.stringify(first[key]) !== JSON.stringify(value))
        (first as Record<string, unknown>)[key] = value;
    }
    if (addresses.length === 0) {
      if (Object.keys(first).length > 1) next.address = [first];
    } else {
      addresses[0] = first;
      next.address = addresses;
    }
  }
  return next as unknown as T;
}

/** The shown value of each contact field: the first phone, the first email, the first address's parts. */
export function contactFields(resource: { resourceType: string }): Record<ContactField, string> {
  const patient = resource as PatientContactLike;
  return fieldsOf(patient);
}

function fieldsOf(patient: PatientContactLike): Record<ContactField, string> {
  const tel = (system: string) => patient.telecom?.find((t) => t.system === system)?.value ?? '';
  const a = patient.address?.[0];
  return {
    phone: tel('phone'),
    email: tel('email'),
    line: a?.line?.join(', ') ?? '',
    city: a?.city ?? '',
    postalCode: a?.postalCode ?? '',
    country: a?.country ?? '',
  };
}

/** The fields whose shown value differs between two versions of a Patient, in form order. */
export function contactFieldChanges(
  before: { resourceType: string },
  after: { resourceType: string },
): ContactFieldChange[] {
  const b = contactFields(before);
  const a = contactFields(after);
  return (Object.keys(b) as ContactField[])
    .filter((f) => b[f] !== a[f])
    .map((field) => ({ field, before: b[field], after: a[field] }));
}
