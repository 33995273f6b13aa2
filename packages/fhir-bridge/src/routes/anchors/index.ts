/**
 * GET /anchors/{type}/{id}: where each version of a resource stands — leaf fields, proof and batch
 * (root, tx hash, manifest CID) — everything `verifyRecord` needs besides the resource itself.
 * No content, but it maps a resource id to its patient's pseudonym, salt and content hash (enough
 * to confirm a guessed record): operators only (`ehr-bridge verify`); a stranger gets 401 whether
 * the resource exists or not. Consent-checked reads are the read side's.
 */
import {
  anchorLookupSchema,
  isFhirId,
  isR4ResourceType,
  operationOutcomeSchema,
  type ApiAnchoredVersion,
} from '@ehr-anchor/core/api';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../errors.js';
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
        security: [{ bearer: [] }],
        params: z.object({
          type: z.string().refine(isR4ResourceType, 'not a FHIR R4 resource type'),
          id: z.string().refine(isFhirId, 'not a FHIR id'),
        }),
        response: { 200: anchorLookupSchema, 401: operationOutcomeSchema, 404: operationOutcomeSchema },
      },
      onRequest: app.requireOperator,
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
