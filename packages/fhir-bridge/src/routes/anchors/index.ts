/**
 * GET /anchors/{type}/{id}: where each version of a resource stands — leaf fields, proof and batch
 * (root, tx hash, manifest CID) — everything `verifyRecord` needs besides the resource itself.
 * No content. Operators and `ehr-bridge verify` use it; consent-checked reads are the read side's.
 */
import { anchorLookupSchema, operationOutcomeSchema, type ApiAnchoredVersion } from '@ehr-anchor/core/api';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { FHIR_ID } from '../../ingest/parse.js';
import type { BatchRow, RecordInfo } from '../../outbox/types.js';
import { batchView } from '../status/index.js';

export function versionView(r: RecordInfo, batch: BatchRow | undefined): ApiAnchoredVersion {
  return {
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    versionId: r.versionId,
    contentHash: r.contentHash as ApiAnchoredVersion['contentHash'],
    state: r.state,
    deleted: r.deleted,
    receivedAt: new Date(r.receivedAt).toISOString(),
    leaf:
      r.leaf && r.cid && r.salt
        ? {
            subject: r.subject as `0x${string}`,
            payloadCid: r.cid,
            salt: r.salt as `0x${string}`,
            leafHash: r.leaf as `0x${string}`,
          }
        : null,
    proof: (r.proof as `0x${string}`[] | null) ?? null,
    batch: batch ? batchView(batch) : null,
  };
}

export const anchorRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/anchors/:type/:id',
    {
      schema: {
        tags: ['anchors'],
        summary: 'Anchor state, leaf and proof of every version of a resource',
        params: z.object({ type: z.string().regex(/^[A-Z][A-Za-z]{1,63}$/), id: z.string().regex(FHIR_ID) }),
        response: { 200: anchorLookupSchema, 404: operationOutcomeSchema },
      },
    },
    async (request) => {
      const { type, id } = request.params;
      const versions = await app.outbox.versions(type, id);
      if (versions.length === 0) throw notFound('no version of this resource is known');
      const batches = new Map<number, BatchRow | undefined>();
      for (const v of versions)
        if (v.batchId !== null && !batches.has(v.batchId))
          batches.set(v.batchId, await app.outbox.getBatch(v.batchId));
      return {
        resourceType: type,
        resourceId: id,
        versions: versions.map((v) =>
          versionView(v, v.batchId === null ? undefined : batches.get(v.batchId)),
        ),
      };
    },
  );
};
