/** Liveness, readiness (outbox, Kubo, chain reachable) and Prometheus metrics. */
import { healthSchema, readinessSchema } from '@ehr-anchor/core/api';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorMessage } from '../../errors.js';

async function check(
  fn: () => Promise<unknown>,
  timeoutMs = 3_000,
): Promise<{ ok: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['ops'], summary: 'The process is up', response: { 200: healthSchema } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'The outbox, Kubo and the chain answer',
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (_request, reply) => {
      const [outbox, ipfs, chain] = await Promise.all([
        check(() => app.outbox.ping()),
        check(() => app.ipfs.ping()),
        check(() => app.chain.ping()),
      ]);
      const ready = outbox.ok && ipfs.ok && chain.ok;
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not-ready', checks: { outbox, ipfs, chain } });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['ops'], summary: 'Prometheus metrics', hide: false } },
    async (_request, reply) => {
      const counts = await app.outbox.counts();
      for (const [state, n] of Object.entries(counts.records)) app.metrics.queued.set({ state }, n);
      app.metrics.lag.set(counts.lagMs / 1000);
      app.metrics.deadLetters.set({ step: 'provenance' }, (await app.outbox.deadLetters()).provenance);
      app.metrics.deadLetters.set({ step: 'consent' }, app.read.store.consentDeadLetters());
      return reply
        .header('content-type', app.metrics.registry.contentType)
        .send(await app.metrics.registry.metrics());
    },
  );
};
