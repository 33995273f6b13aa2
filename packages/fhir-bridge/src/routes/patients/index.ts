/**
 * Patients: the doctors' search (blind index; only patients who granted the caller, or the caller's
 * hospital, demographics access appear) and the patient's own contact-details edit: a change applied
 * to the FHIR server's current Patient version (If-Match on the version the patient edited, only
 * the named fields replaced, everything else kept), written back (fhir-kit-client) and queued for
 * anchoring.
 */
import { SCOPES } from '@ehr-anchor/contracts';
import type { FhirResourceLike } from '@ehr-anchor/core';
import {
  applyContactChange,
  contactChangeSchema,
  patientSearchResultSchema,
  patientSearchSchema,
  writeReceiptSchema,
} from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { Patient } from 'fhir/r4';
import { Client, type FhirResource } from 'fhir-kit-client';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError, notFound } from '../../errors.js';
import { prepareResource } from '../../ingest/prepare.js';
import { readErrorHandler, type GuardSpec } from '../../read/context.js';
import { subjectParams } from '../records/index.js';

export async function patientRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store, index } = root.read;
  const fhir = side.deps.fhir
    ? new Client({ baseUrl: side.deps.fhir.baseUrl, customHeaders: side.deps.fhir.headers ?? {} })
    : undefined;

  /** The newest Patient version of a subject (from the index, else by scanning the subject's records). */
  async function latestPatient(subject: string) {
    const seq = store.latestPatientSeq(subject);
    if (seq !== undefined) return (await side.deps.outbox.bySeq([seq]))[0];
    return (await side.deps.outbox.bySubject(subject, 100_000)).find(
      (r) => r.resourceType === 'Patient' && !r.deleted && r.state !== 'received',
    );
  }

  app.post(
    '/patients/_search',
    {
      schema: {
        tags: ['patients'],
        summary:
          'Find patients by identifier, name words or birth date — only those who granted the caller (or their hospital) access',
        security: [{ session: [] }],
        body: patientSearchSchema,
        response: { 200: patientSearchResultSchema },
      },
    },
    async (req) => {
      const spec: GuardSpec = { action: 'search' };
      return side.run(req, spec, async (actor) => {
        const candidates = index.search(req.body);
        const allowed = await Promise.all(
          candidates.map((s) => side.chain.canRead(actor.address, s, SCOPES.demographics)),
        );
        const items = [];
        for (const [i, subject] of candidates.entries()) {
          if (!allowed[i]) continue;
          const info = await latestPatient(subject);
          if (!info || store.isErased(info.seq)) continue;
          const read = await side.records.read(info);
          items.push({ subject: subject as `0x${string}`, seq: info.seq, patient: read.resource });
          // Each patient a search discloses sees it in their own access log.
          await side.audit({
            action: 'search',
            actor,
            outcome: 'allowed',
            req,
            subject,
            entity: {
              resourceType: 'Patient',
              resourceId: info.resourceId,
              versionId: info.versionId,
              seq: info.seq,
            },
          });
        }
        return { items };
      });
    },
  );

  app.patch(
    '/patients/:subject/contact',
    {
      schema: {
        tags: ['patients'],
        summary:
          'The patient changes their phone, email or address on the Patient version they saw (If-Match); everything else is kept; the new version is written to the FHIR server and anchored',
        security: [{ session: [] }],
        params: subjectParams,
        body: contactChangeSchema,
        response: { 202: writeReceiptSchema },
      },
    },
    async (req, reply) => {
      const subject = req.params.subject.toLowerCase();
      const change = req.body;
      const spec: GuardSpec = {
        action: 'edit',
        subject,
        check: async (actor) =>
          (await side.isPatientSelf(actor, subject))
            ? null
            : 'only the patient may edit their contact details',
      };
      const receipt = await side.run(req, spec, async () => {
        const info = await latestPatient(subject);
        if (!info) throw notFound('no Patient record for this subject yet');
        if (store.isErased(info.seq)) throw new HttpError(410, 'not-found', 'the Patient record was erased');
        spec.entity = {
          resourceType: 'Patient',
          resourceId: info.resourceId,
          versionId: info.versionId,
          seq: info.seq,
        };
        const conflict = () =>
          new HttpError(
            412,
            'conflict',
            'the contact details changed since they were opened; nothing was saved — reload and edit the current version',
          );
        let next: Patient;
        if (fhir) {
          // The change is made on the FHIR server's current version, not on the anchored copy: what
          // the server holds beyond what the bridge anchored (or knows of) is kept.
          let current: Patient;
          try {
            current = (await fhir.read({
              resourceType: 'Patient',
              id: info.resourceId,
            })) as unknown as Patient;
          } catch (error) {
            const status = (error as { response?: { status?: number } }).response?.status;
            req.log.warn({ status }, 'FHIR server refused the Patient read');
            throw new HttpError(502, 'exception', 'the FHIR server did not answer the read');
          }
          if (current.meta?.versionId !== change.baseVersionId) throw conflict();
          try {
            next = (await fhir.update({
              resourceType: 'Patient',
              id: info.resourceId,
              body: applyContactChange(current, change) as unknown as FhirResource,
              options: { headers: { 'If-Match': `W/"${change.baseVersionId}"` } },
            })) as unknown as Patient;
          } catch (error) {
            const status = (error as { response?: { status?: number } }).response?.status;
            if (status === 409 || status === 412) throw conflict();
            req.log.warn({ status }, 'FHIR server refused the Patient update');
            throw new HttpError(502, 'exception', 'the FHIR server did not accept the update');
          }
        } else {
          // No FHIR server configured: the change is made on the anchored copy, with a
          // content-derived version id (see ingest/prepare.ts).
          if (info.versionId !== change.baseVersionId) throw conflict();
          const current = (await side.records.read(info)).resource as Patient;
          next = applyContactChange(current, change);
          next = { ...next, meta: { ...next.meta } };
          delete next.meta!.versionId;
        }
        const version = await prepareResource(
          side.source,
          next as unknown as FhirResourceLike,
          side.deps.keyStore.pseudonymKey(),
        );
        if (version.subject !== subject)
          throw new HttpError(409, 'processing', 'the Patient resource belongs to another subject');
        const [result] = await side.deps.outbox.enqueue([version]);
        side.deps.onQueued?.();
        return {
          seq: result!.seq,
          resourceType: 'Patient',
          resourceId: version.resourceId,
          versionId: version.versionId,
          contentHash: version.contentHash as `0x${string}`,
          state: 'received' as const,
        };
      });
      return reply.code(202).send(receipt);
    },
  );
}
