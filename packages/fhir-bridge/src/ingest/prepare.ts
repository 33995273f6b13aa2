/**
 * From an ingest item to an outbox row: canonical content hash (packages/core), version id,
 * patient pseudonym. Versions without `meta.versionId` (bulk exports, Synthea bundles, some
 * subscription payloads) get a content-derived version id, `sha256-<first 16 hex of contentHash>`:
 * replaying the same content maps to the same version (anchored once), a changed resource to a new
 * one, and a server version id always wins when present.
 */
import type { FhirResourceLike, Hex } from '@ehr-anchor/core';
import { contentHashFast, pseudonymFast } from '../pipeline/fast-crypto.js';
import type { IncomingVersion } from '../outbox/types.js';
import { parseReference } from './parse.js';

/** Leaf subject of resources that belong to no patient (Organization, Practitioner, …). */
export const NO_SUBJECT = `0x${'00'.repeat(32)}` as Hex;
export const DERIVED_VERSION_PREFIX = 'sha256-';

const encoder = new TextEncoder();

/** Fields that point at the patient a resource is about, in the order FHIR resources use them. */
const PATIENT_FIELDS = ['subject', 'patient', 'beneficiary', 'individual', 'for'] as const;

/** The logical id of the patient a resource belongs to, if any (never logged). */
export function patientIdOf(resource: FhirResourceLike): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  for (const field of PATIENT_FIELDS) {
    const value = resource[field] as { reference?: unknown } | undefined;
    if (!value || typeof value !== 'object') continue;
    const ref = parseReference(value.reference);
    // `urn:uuid:` references inside transaction Bundles carry no type; Synthea points them at the Patient.
    if (ref && (ref.type === 'Patient' || ref.type === undefined)) return ref.id;
  }
  return undefined;
}

export function derivedVersionId(hash: string): string {
  return `${DERIVED_VERSION_PREFIX}${hash.slice(2, 18)}`;
}

export function prepareResource(
  source: string,
  resource: FhirResourceLike,
  pseudonymKey: Uint8Array,
  versionHint?: string,
): Promise<IncomingVersion> {
  return Promise.resolve(prepareResourceSync(source, resource, pseudonymKey, versionHint));
}

/** {@link prepareResource} without the promise (the ingest hot path). */
export function prepareResourceSync(
  source: string,
  resource: FhirResourceLike,
  pseudonymKey: Uint8Array,
  versionHint?: string,
): IncomingVersion {
  const hash = contentHashFast(resource);
  const patientId = patientIdOf(resource);
  return {
    source,
    resourceType: resource.resourceType,
    resourceId: resource.id!,
    versionId: resource.meta?.versionId ?? versionHint ?? derivedVersionId(hash),
    contentHash: hash,
    subject: patientId ? pseudonymFast(patientId, pseudonymKey) : NO_SUBJECT,
    deleted: false,
    body: encoder.encode(JSON.stringify(resource)),
  };
}

/**
 * A deletion is anchored as a tombstone version: content `{resourceType, id}` and version id
 * `deleted` (or the server's), so a replayed DELETE is the same version; `subject` is carried over
 * from the newest known version so the patient's timeline shows it.
 */
export async function prepareDelete(
  source: string,
  resourceType: string,
  resourceId: string,
  subject: string,
  versionId?: string,
): Promise<IncomingVersion> {
  const tombstone = { resourceType, id: resourceId };
  return {
    source,
    resourceType,
    resourceId,
    versionId: versionId ?? 'deleted',
    contentHash: contentHashFast(tombstone),
    subject,
    deleted: true,
    body: encoder.encode(JSON.stringify(tombstone)),
  };
}
