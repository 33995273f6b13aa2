/**
 * Status and batches. Public: chain, registry, signer, batches (roots, manifest CIDs, counts and
 * transactions are on chain anyway). Operator credential: outbox counts, lag, dead letters, and
 * putting dead letters back. No content, no ids.
 */
import {
  batchSchema,
  bridgeStatusSchema,
  deadLetterRetrySchema,
  operationOutcomeSchema,
  type ApiBatch,
} from '@ehr-anchor/core/api';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import type { BatchRow } from '../../outbox/types.js';

export function batchView(b: BatchRow): ApiBatch {
  return {
    id: b.id,
    state: b.state,
    root: b.root as ApiBatch['root'],
    manifestCid: b.manifestCid,
    count: b.count,
    createdAt: new Date(b.createdAt).toISOString(),
    txHash: b.txHash as ApiBatch['txHash'],
    blockNumber: b.blockNumber,
    anchoredAt: b.anchoredAt === null ? null : new Date(b.anchoredAt).toISOString(),
  };
}

export const statusRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/status',
    {
      schema: {
        tags: ['ops'],
        summary:
          'Chain, registry, signer and latest batches (public: on chain anyway); with the operator credential also outbox counts, lag and dead letters',
        security: [{}, { bearer: [] }],
        response: { 200: bridgeStatusSchema },
      },
    },
    async (request) => {
      const visible = {
        chainId: await app.chain.chainId(),
        registry: app.chain.address,
        signer: app.chain.signerAddress,
        latestBatches: (await app.outbox.listBatches(10)).map(batchView),
      };
      // The elements ask for the signer (the hospital of origin of a verdict); counts are the operator's.
      if (!app.isOperator(request)) return visible;
      const counts = await app.outbox.counts();
      const dead = await app.outbox.deadLetters();
      return {
        outbox: app.outbox.kind,
        records: counts.records,
        batches: counts.batches,
        lagMs: counts.lagMs,
        ...visible,
        deadLetters: { provenance: dead.provenance, consent: app.read.store.consentDeadLetters() },
      };
    },
  );

  app.post(
    '/dead-letters/retry',
    {
      onRequest: app.requireOperator,
      schema: {
        tags: ['ops'],
        summary: 'Put every dead letter back in its queue (ehr-bridge retry)',
        security: [{ bearer: [] }],
        response: { 200: deadLetterRetrySchema, 401: operationOutcomeSchema },
      },
    },
    async () => {
      const { provenance } = await app.outbox.retryDeadLetters();
      const consent = app.read.store.retryConsentDeadLetters();
      app.log.info({ provenance, consent }, 'dead letters put back in their queues');
      app.pipeline.wake();
      return { provenance, consent };
    },
  );

  app.get(
    '/batches',
    {
      schema: {
        tags: ['anchors'],
        summary: 'Batches, newest first',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().optional(),
        }),
        response: { 200: z.object({ batches: z.array(batchSchema) }) },
      },
    },
    async (request) => ({
      batches: (await app.outbox.listBatches(request.query.limit, request.query.before)).map(batchView),
    }),
  );

  app.get(
    '/batches/:id',
    {
      schema: {
        tags: ['anchors'],
        summary: 'One batch',
        params: z.object({ id: z.coerce.number().int().min(1) }),
        response: { 200: batchSchema },
      },
    },
    async (request) => {
      const batch = await app.outbox.getBatch(request.params.id);
      if (!batch) throw notFound('no such batch');
      return batchView(batch);
    },
  );
};
