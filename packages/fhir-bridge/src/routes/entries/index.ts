/**
 * Clinical entries (issue 10) and record version history.
 *
 *   POST /patients/{subject}/entries   a doctor's entry as a FHIR transaction Bundle → 201 EntryReceipt
 *   GET  /records/{seq}/versions       every version of that record's resource, each with its proof
 *
 * Who may write: an active doctor of the hospital this bridge anchors for, whom the patient (or
 * whose hospital the patient) has granted every category the entry writes — all read from the
 * chain at the latest block, so a removed doctor or a revoked grant is refused on the next request,
 * before anything reaches the FHIR server. Every attempt is audited (action `edit`).
 */
import { pseudonym } from '@ehr-anchor/core';
import { SCOPE_LABELS, SCOPES, scopeCategories } from '@ehr-anchor/contracts';
import { entryReceiptSchema, recordVersionsSchema, type RecordVersion } from '@ehr-anchor/core/api';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { strictJsonParser } from '../../plugins/errors.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError } from '../../errors.js';
import { EntryRejected, EntryWriter, entryPatientId, entryScope, parseEntry } from '../../entries/write.js';
import { notReadable, readErrorHandler, uniformly, type GuardSpec } from '../../read/context.js';
import { TamperError } from '../../read/records.js';
import { seqParams, subjectParams } from '../records/index.js';

function entriesErrorHandler(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof EntryRejected) {
    void reply.code(error.statusCode).type('application/fhir+json').send(error.outcome());
    return;
  }
  readErrorHandler(error, req, reply);
}

export async function entryRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(entriesErrorHandler);
  // FHIR clients send application/fhir+json; parsed like every JSON body (app.ts: strictJsonParser).
  app.addContentTypeParser(
    ['application/fhir+json', 'application/json+fhir'],
    { parseAs: 'buffer' },
    strictJsonParser,
  );
  const { side, store } = root.read;
  const writer = side.deps.fhir
    ? new EntryWriter({
        fhir: side.deps.fhir,
        outbox: side.deps.outbox,
        pseudonymKey: () => side.deps.keyStore.pseudonymKey(),
        source: side.source,
        onQueued: () => side.deps.onQueued?.(),
      })
    : undefined;

  app.post(
    '/patients/:subject/entries',
    {
      schema: {
        tags: ['entries'],
        summary:
          "A doctor's clinical entry (FHIR transaction Bundle: Encounter + Condition, MedicationRequest, Observation, ClinicalImpression) → the hospital's FHIR server → anchored",
        description:
          'Body: a transaction Bundle (`@ehr-anchor/core/api` entryBundleSchema). 400/422 OperationOutcome lists every broken rule with its FHIRPath in `issue.expression`; 403 when the chain does not let the doctor write for this patient — nothing is written then.',
        security: [{ session: [] }],
        params: subjectParams,
        response: { 201: entryReceiptSchema },
      },
    },
    async (req, reply) => {
      const subject = req.params.subject.toLowerCase();
      let scope = 0;
      const spec: GuardSpec = {
        action: 'edit',
        subject,
        check: async (actor) => {
          const hospital = actor.roles.doctorOf;
          if (!hospital) return 'Only an active doctor may write clinical entries.';
          const own = await side.hospital();
          if (hospital !== own) {
            // Not a consent question: entries go to the doctor's own hospital's bridge and FHIR server.
            const [theirs, this_] = await Promise.all([
              side.chain.hospitalName(hospital),
              own ? side.chain.hospitalName(own) : null,
            ]);
            return `You are a doctor of ${theirs ?? 'another hospital'}, not of ${this_ ?? 'this hospital'}: write the entry through ${theirs ?? 'your hospital'}’s own system.`;
          }
          // Authorization before validation: a caller who may not write learns nothing about the rules.
          scope = entryScope(req.body);
          if (await side.chain.canRead(actor.address, subject, scope)) return null;
          // Which categories the patient's grants (to the doctor or to their hospital) leave out.
          const missing: string[] = [];
          for (const category of scopeCategories(scope))
            if (!(await side.chain.canRead(actor.address, subject, SCOPES[category])))
              missing.push(SCOPE_LABELS[category]);
          const name = own ? await side.chain.hospitalName(own) : null;
          return `The patient has not granted you or ${name ?? 'your hospital'} access to: ${missing.join(', ')}. Ask the patient to add these to a grant.`;
        },
      };
      const receipt = await side.run(req, spec, async () => {
        if (!writer)
          throw new HttpError(
            501,
            'not-supported',
            'this bridge has no FHIR server configured for writes (read.fhirBaseUrl)',
          );
        const patientId = entryPatientId(req.body);
        if ((await pseudonym(patientId, side.deps.keyStore.pseudonymKey())) !== subject) {
          throw new HttpError(
            422,
            'processing',
            'the entry is about another patient than the subject in the URL',
          );
        }
        const bundle = parseEntry(req.body, `Patient/${patientId}`);
        await writer.preflight(bundle, patientId);
        const { items, encounter } = await writer.write(bundle, subject);
        const e = items.find((i) => i.resourceType === 'Encounter');
        if (e)
          spec.entity = {
            resourceType: 'Encounter',
            resourceId: e.resourceId,
            versionId: e.versionId,
            seq: e.seq,
          };
        return { subject: subject as `0x${string}`, encounter, items };
      });
      return reply.code(201).send(receipt);
    },
  );

  app.get(
    '/records/:seq/versions',
    {
      schema: {
        tags: ['entries'],
        summary:
          "Every version of a record's resource (newest first) with each version's leaf hash, proof and anchor; read each with GET /records/{seq}",
        security: [{ session: [] }],
        params: seqParams,
        response: { 200: recordVersionsSchema },
      },
    },
    async (req) => {
      await side.actor(req);
      const info = await side.records.info(req.params.seq);
      if (!info || info.resourceType === 'AuditEvent') throw notReadable();
      const spec: GuardSpec = {
        action: 'read',
        subject: info.subject,
        scope: side.scopeOf(info.resourceType),
        entity: {
          resourceType: info.resourceType,
          resourceId: info.resourceId,
          versionId: info.versionId,
          seq: info.seq,
        },
      };
      return uniformly(() =>
        side.run(req, spec, async () => {
          // Same resource and same patient only: a resource id never leads into another patient's records.
          const all = (await side.deps.outbox.versions(info.resourceType, info.resourceId)).filter(
            (v) => v.subject === info.subject,
          );
          const erased = store.erasedSet(all.map((v) => v.seq));
          const versions: RecordVersion[] = [];
          for (const v of all) {
            let anchor: RecordVersion['anchor'] = null;
            try {
              const a = await side.records.anchorOf(v);
              if (a.anchor)
                anchor = {
                  root: a.anchor.root,
                  txHash: a.anchor.txHash,
                  blockNumber: a.anchor.blockNumber,
                  hospital: a.anchor.hospital,
                };
            } catch (error) {
              // A root the chain does not know: list the version without an anchor; reading it says why.
              if (!(error instanceof TamperError)) throw error;
            }
            versions.push({
              seq: v.seq,
              versionId: v.versionId,
              contentHash: v.contentHash as `0x${string}`,
              state: v.state,
              deleted: v.deleted,
              erased: erased.has(v.seq),
              receivedAt: new Date(v.receivedAt).toISOString(),
              anchoredAt: v.anchoredAt === null ? null : new Date(v.anchoredAt).toISOString(),
              leafHash: (v.leaf as `0x${string}` | null) ?? null,
              proof: (v.proof as `0x${string}`[] | null) ?? null,
              anchor,
            });
          }
          return { resourceType: info.resourceType, resourceId: info.resourceId, versions };
        }),
      );
    },
  );
}
