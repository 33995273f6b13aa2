/**
 * Erasure: the patient asks for a record to be erased; the hospital this bridge anchors for
 * approves (or rejects). Approval crypto-shreds every version of the resource (read/erasure.ts):
 * reads then answer 410 Gone while the leaf and anchor still prove the record existed.
 */
import {
  erasureCreateSchema,
  erasureListSchema,
  erasureRequestSchema,
  type ErasureRequest,
} from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError, notFound } from '../../errors.js';
import { readErrorHandler, type Actor, type GuardSpec } from '../../read/context.js';
import { ReplicationError } from '../../pipeline/replication.js';
import { attachmentCids, removeFromIpfs } from '../../read/erasure.js';
import type { ErasureRow } from '../../read/store.js';
import { subjectParams } from '../records/index.js';

function view(r: ErasureRow): ErasureRequest {
  return {
    id: r.id,
    seq: r.seq,
    subject: r.subject as `0x${string}`,
    state: r.state,
    requestedBy: r.requestedBy as `0x${string}`,
    requestedAt: new Date(r.requestedAt).toISOString(),
    decidedBy: r.decidedBy as `0x${string}` | null,
    decidedAt: r.decidedAt === null ? null : new Date(r.decidedAt).toISOString(),
  };
}

export async function erasureRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store } = root.read;

  const isOwnHospital = async (actor: Actor) => {
    const hospital = await side.hospital();
    return hospital !== null && actor.address === hospital
      ? null
      : 'only the hospital this bridge anchors for decides erasures';
  };

  app.post(
    '/patients/:subject/erasure-requests',
    {
      schema: {
        tags: ['erasure'],
        summary: 'The patient asks for a record to be erased',
        security: [{ session: [] }],
        params: subjectParams,
        body: erasureCreateSchema,
        response: { 201: erasureRequestSchema },
      },
    },
    async (req, reply) => {
      const subject = req.params.subject.toLowerCase();
      const spec: GuardSpec = {
        action: 'erasure',
        subject,
        check: async (actor) =>
          (await side.isPatientSelf(actor, subject))
            ? null
            : 'only the patient may ask to erase their records',
      };
      const row = await side.run(req, spec, async (actor) => {
        const info = await side.records.info(req.body.seq);
        if (!info || info.subject !== subject) throw notFound('no such record of this patient');
        spec.entity = {
          resourceType: info.resourceType,
          resourceId: info.resourceId,
          versionId: info.versionId,
          seq: info.seq,
        };
        return store.addErasure(info.seq, subject, actor.address, Date.now());
      });
      return reply.code(201).send(view(row));
    },
  );

  app.get(
    '/erasure-requests',
    {
      schema: {
        tags: ['erasure'],
        summary: "The hospital's erasure requests",
        security: [{ session: [] }],
        querystring: z.object({ state: z.enum(['pending', 'approved', 'rejected']).optional() }),
        response: { 200: erasureListSchema },
      },
    },
    async (req) => {
      const actor = await side.actor(req);
      const refusal = await isOwnHospital(actor);
      if (refusal) throw new HttpError(403, 'security', refusal);
      return { items: store.erasures(req.query.state).map(view) };
    },
  );

  app.post(
    '/erasure-requests/:id/:decision',
    {
      schema: {
        tags: ['erasure'],
        summary: 'The hospital approves (crypto-shreds every version) or rejects an erasure request',
        security: [{ session: [] }],
        params: z.object({ id: z.coerce.number().int().positive(), decision: z.enum(['approve', 'reject']) }),
        response: { 200: erasureRequestSchema },
      },
    },
    async (req) => {
      const request = store.erasure(req.params.id);
      if (!request) throw notFound('no such erasure request');
      const spec: GuardSpec = { action: 'erasure', subject: request.subject, check: isOwnHospital };
      return side.run(req, spec, async (actor) => {
        if (request.state !== 'pending')
          throw new HttpError(409, 'processing', `the request is ${request.state} already`);
        const [info] = await side.deps.outbox.bySeq([request.seq]);
        if (!info) throw notFound('the record is gone from the outbox');
        spec.entity = {
          resourceType: info.resourceType,
          resourceId: info.resourceId,
          versionId: info.versionId,
          seq: info.seq,
        };
        if (req.params.decision === 'reject') {
          store.decideErasure(request.id, 'rejected', actor.address, Date.now(), []);
          return view(store.erasure(request.id)!);
        }
        const versions = await side.deps.outbox.versions(info.resourceType, info.resourceId);
        const cids: string[] = [];
        for (const v of versions) {
          if (!v.cid) continue;
          // Documents: shred the content key first (the content then cannot be read anywhere).
          if (v.resourceType === 'DocumentReference') {
            const doc = await side.records.read(v).catch(() => undefined);
            if (doc)
              cids.push(...attachmentCids(doc.resource as { content?: { attachment?: { url?: string } }[] }));
            store.deleteDocKey(v.resourceId);
          }
          cids.push(v.cid);
        }
        // Mark first: from this moment every read answers 410, even if IPFS removal must be retried.
        const mark = () => {
          store.decideErasure(
            request.id,
            'approved',
            actor.address,
            Date.now(),
            versions.map((v) => v.seq),
          );
          if (info.resourceType === 'Patient') store.removePatient(info.subject);
        };
        if (side.deps.ipfsRemove) {
          // Copies on other hospitals' nodes go too; if one of them does not answer, nothing is done.
          await side.deps.ipfsRemove(cids, mark).catch((error: unknown) => {
            if (error instanceof ReplicationError)
              throw new HttpError(
                503,
                'transient',
                'an IPFS node holding copies of this record did not answer, so nothing was erased; try again later',
              );
            throw error;
          });
        } else {
          mark();
          await removeFromIpfs(side.deps.ipfs, cids);
        }
        return view(store.erasure(request.id)!);
      });
    },
  );
}
