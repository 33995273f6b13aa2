/**
 * Doctors' clinical entries (issue 10): one FHIR transaction Bundle → the hospital's FHIR server
 * (fhir-kit-client `transaction`) → the server's resulting versions into the outbox → anchored by
 * the normal pipeline.
 *
 * Which versions get anchored, and why nothing is anchored twice: after the transaction the bridge
 * reads back exactly the versions the server reports (`response.location` = `Type/id/_history/vid`)
 * and enqueues them itself, in one outbox transaction. It does not depend on the server's
 * REST-hook subscription (which may be absent, late, or dropped after 60 s of retries — see
 * tools/fhir-server/README.md). If a subscription also pushes these versions, they arrive with the
 * same type/id/versionId and the same canonical content hash, and the outbox's unique key turns
 * the push into a `duplicate`: one row, one leaf, one anchor.
 */
import { SCOPES, scopeOf } from '@ehr-anchor/contracts';
import type { FhirResourceLike } from '@ehr-anchor/core';
import {
  checkEntryBundle,
  ENTRY_RESOURCE_TYPES,
  entryBundleSchema,
  type EntryBundle,
  type EntryIssue,
  type EntryItem,
} from '@ehr-anchor/core/api';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { Client, type FhirResource } from 'fhir-kit-client';
import { HttpError } from '../errors.js';
import { patientIdOf, prepareResource } from '../ingest/prepare.js';
import { parseReference } from '../ingest/parse.js';
import type { IncomingVersion, Outbox } from '../outbox/types.js';

/** An issue of a refused entry: a broken rule (`EntryIssue`) or a version conflict of an amendment. */
export type EntryOutcomeIssue = Omit<EntryIssue, 'code'> & { code: EntryIssue['code'] | 'conflict' };

/** The entry broke structure rules: every issue, with the FHIRPath of the element. */
export class EntryRejected extends HttpError {
  constructor(
    statusCode: number,
    readonly issues: EntryOutcomeIssue[],
  ) {
    super(statusCode, 'invalid', issues[0]?.message ?? 'the entry is invalid');
    this.name = 'EntryRejected';
  }

  outcome(): OperationOutcome {
    return {
      resourceType: 'OperationOutcome',
      issue: this.issues.map((i) => ({
        severity: 'error',
        code: i.code,
        diagnostics: i.message,
        expression: [i.expression],
      })),
    };
  }
}

/** Parses the body as an entry bundle: zod shape first (400 with the paths), then the clinical rules (422). */
export function parseEntry(body: unknown, patientRef: string): EntryBundle {
  const parsed = entryBundleSchema.safeParse(body);
  if (!parsed.success) {
    throw new EntryRejected(
      400,
      parsed.error.issues.slice(0, 20).map((i) => ({
        expression: ['Bundle', ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
          .join('')
          .replace(/\.\[/g, '['),
        code: 'structure',
        // zod messages name the expected shape, never echo the input.
        message: i.message,
      })),
    );
  }
  const issues = checkEntryBundle(parsed.data, { patientRef });
  if (issues.length) throw new EntryRejected(422, issues);
  return parsed.data;
}

/** The patient an entry is about: the Encounter's `subject` (`Patient/<id>`); 400 when it names none. */
export function entryPatientId(body: unknown): string {
  const entries = (
    body as { entry?: { resource?: { resourceType?: string; subject?: { reference?: unknown } } }[] }
  )?.entry;
  const encounter = Array.isArray(entries)
    ? entries.find((e) => e?.resource?.resourceType === 'Encounter')
    : undefined;
  const ref = parseReference(encounter?.resource?.subject?.reference);
  if (!ref || ref.type !== 'Patient' || !ref.id) {
    throw new EntryRejected(400, [
      {
        expression: "Bundle.entry.resource.where(resourceType='Encounter').subject",
        code: 'required',
        message: 'the Encounter must reference the patient (Patient/<id>)',
      },
    ]);
  }
  return ref.id;
}

/**
 * The consent scope an entry needs: every category it writes (read from the raw body, before it is
 * validated, so the consent check comes first; an entry with no known type needs `encounters`).
 */
export function entryScope(body: unknown): number {
  const entries = (body as { entry?: unknown })?.entry;
  let mask = 0;
  if (Array.isArray(entries)) {
    for (const e of entries as { resource?: { resourceType?: unknown } }[]) {
      const type = e?.resource?.resourceType;
      if (typeof type === 'string' && (ENTRY_RESOURCE_TYPES as readonly string[]).includes(type))
        mask |= scopeOf(type);
    }
  }
  return mask || SCOPES.encounters;
}

/** The version an ETag names (`W/"3"`, `"3"` or `3`), as in FHIR's `Bundle.entry.request.ifMatch`. */
export function etagVersion(etag: string): string {
  return /^(?:W\/)?"?([^"]*)"?$/.exec(etag.trim())?.[1] ?? etag;
}

/**
 * 412 Precondition Failed (FHIR RESTful API, "Managing resource contention"): an amendment names the
 * version it edits (`If-Match`), and the resource has moved on since — someone else amended it.
 * Nothing is written; the doctor reloads and amends the current version. Says no content, only
 * the resource type and version numbers.
 */
export function amendmentConflict(
  index: number,
  resourceType: string,
  expected: string,
  current?: string,
): EntryRejected {
  const now = current ? ` (it is now at version ${current})` : '';
  return new EntryRejected(412, [
    {
      expression: `Bundle.entry[${index}].request.ifMatch`,
      code: 'conflict',
      message: `the ${resourceType} was changed since version ${expected}${now}: reload the entry and amend the current version; nothing was written`,
    },
  ]);
}

export interface EntryWriterDeps {
  fhir: { baseUrl: string; headers?: Record<string, string> };
  outbox: Outbox;
  pseudonymKey: () => Uint8Array;
  source: string;
  onQueued: () => void;
}

function statusOf(error: unknown): number | undefined {
  return (error as { response?: { status?: number } }).response?.status;
}

export class EntryWriter {
  readonly client: Client;

  constructor(readonly deps: EntryWriterDeps) {
    this.client = new Client({
      baseUrl: deps.fhir.baseUrl,
      customHeaders: { accept: 'application/fhir+json', ...(deps.fhir.headers ?? {}) },
    });
  }

  /**
   * Checks what the entry would touch on the server before anything is written: the patient
   * exists there, and every amended (PUT) resource exists and belongs to that same patient — a
   * doctor allowed to write for one patient must not overwrite another patient's record by id.
   */
  async preflight(bundle: EntryBundle, patientId: string): Promise<void> {
    try {
      await this.client.read({ resourceType: 'Patient', id: patientId });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 410)
        throw new HttpError(422, 'not-found', "the patient is not on this hospital's FHIR server");
      throw new HttpError(502, 'exception', 'the FHIR server could not be reached');
    }
    for (const [i, entry] of bundle.entry.entries()) {
      if (entry.request.method !== 'PUT') continue;
      let current: FhirResourceLike;
      try {
        current = (await this.client.read({
          resourceType: entry.resource.resourceType,
          id: entry.resource.id!,
        })) as unknown as FhirResourceLike;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 || status === 410) {
          throw new EntryRejected(422, [
            {
              expression: `Bundle.entry[${i}].request.url`,
              code: 'invariant',
              message: 'an amendment must name an existing resource',
            },
          ]);
        }
        throw new HttpError(502, 'exception', 'the FHIR server could not be reached');
      }
      if (patientIdOf(current) !== patientId) {
        throw new HttpError(403, 'security', 'an amended resource belongs to another patient');
      }
      // Checked here as well as by the server's transaction, so a stale amendment is refused the
      // same clear way whether or not the server enforces If-Match inside transactions.
      const expected = entry.request.ifMatch ? etagVersion(entry.request.ifMatch) : undefined;
      const actual = current.meta?.versionId;
      if (expected !== undefined && actual !== undefined && expected !== actual)
        throw amendmentConflict(i, entry.resource.resourceType, expected, actual);
    }
  }

  /**
   * Writes the entry as one transaction (all or nothing on the server), reads back each resulting
   * version and commits them all to the outbox in one transaction. Returns them in request order.
   */
  async write(bundle: EntryBundle, subject: string): Promise<{ items: EntryItem[]; encounter: string }> {
    let response: Bundle;
    try {
      response = (await this.client.transaction({
        body: bundle as unknown as FhirResource,
      })) as unknown as Bundle;
    } catch (error) {
      const status = statusOf(error);
      // A resource moved on between the preflight and the transaction (If-Match failed on the
      // server: 412, or 409 as HAPI reports version conflicts). All or nothing: nothing written.
      if (status === 409 || status === 412) {
        throw new EntryRejected(412, [
          {
            expression: 'Bundle.entry.request.ifMatch',
            code: 'conflict',
            message:
              'a resource of the entry was changed while it was being saved: reload the entry and amend the current version; nothing was written',
          },
        ]);
      }
      // The server refused the transaction as a whole: nothing was written there.
      if (status && status >= 400 && status < 500)
        throw new HttpError(422, 'processing', `the FHIR server refused the entry (HTTP ${status})`);
      throw new HttpError(502, 'exception', 'the FHIR server did not accept the entry');
    }
    const locations = (response.entry ?? []).map((e) => e.response?.location ?? '');
    if (locations.length !== bundle.entry.length)
      throw new HttpError(502, 'exception', 'the FHIR server answered the transaction incompletely');
    const key = this.deps.pseudonymKey();
    const versions: IncomingVersion[] = [];
    const references: string[] = [];
    for (const location of locations) {
      const m = /^(?:.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})\/_history\/([A-Za-z0-9\-.]{1,64})$/.exec(
        location,
      );
      if (!m) throw new HttpError(502, 'exception', 'the FHIR server answered without version locations');
      const [, resourceType, id, vid] = m as unknown as [string, string, string, string];
      const stored = (await this.client.vread({
        resourceType,
        id,
        version: vid,
      })) as unknown as FhirResourceLike;
      const version = await prepareResource(this.deps.source, stored, key, vid);
      if (version.subject !== subject)
        throw new HttpError(502, 'exception', 'the FHIR server stored a resource about another patient');
      versions.push(version);
      references.push(`${resourceType}/${id}/_history/${version.versionId}`);
    }
    const results = await this.deps.outbox.enqueue(versions);
    this.deps.onQueued();
    const items = versions.map((v, i) => ({
      request: bundle.entry[i]!.fullUrl ?? bundle.entry[i]!.request.url,
      resourceType: v.resourceType,
      resourceId: v.resourceId,
      versionId: v.versionId,
      reference: references[i]!,
      seq: results[i]!.seq,
      contentHash: v.contentHash as `0x${string}`,
      state: 'received' as const,
    }));
    const encounter = items.find((i) => i.resourceType === 'Encounter');
    return { items, encounter: encounter ? `Encounter/${encounter.resourceId}` : '' };
  }
}
