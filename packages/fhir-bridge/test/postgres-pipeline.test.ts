/**
 * Scale-out: two bridge workers share one PostgreSQL outbox (SKIP LOCKED claims, leases) and the
 * same hospital signer. Pushes to either are anchored exactly once: one Anchored event per batch,
 * and the batches add up to the records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadBulkResources, startPostgres, waitFor, type Postgres } from '@ehr-anchor/testkit';
import { bridgeFor, push, startEnv, type Env } from './helpers.js';

describe('PostgreSQL outbox shared by two bridge workers', () => {
  let env: Env;
  let pg: Postgres;
  before(async () => {
    [env, pg] = await Promise.all([startEnv(), startPostgres()]);
  });
  after(async () => {
    await Promise.all([env?.stop(), pg?.stop()]);
  });

  it('anchors every version pushed to either worker exactly once', { timeout: 300_000 }, async () => {
    const a = await bridgeFor(env, 'pg-a', { outbox: pg.url, batchMax: 150, batchMaxMs: 100 });
    const b = await bridgeFor(env, 'pg-b', {
      outbox: pg.url,
      batchMax: 150,
      batchMaxMs: 100,
      keyStoreFile: a.config.keyStoreFile,
    });
    try {
      const resources = loadBulkResources(['Condition', 'Immunization']).slice(0, 700);
      const pushes = [];
      for (let i = 0; i < resources.length; i += 50) {
        const bundle = {
          resourceType: 'Bundle',
          type: 'collection',
          entry: resources.slice(i, i + 50).map((resource) => ({ resource })),
        };
        pushes.push(push((i / 50) % 2 ? a.url : b.url, '/fhir', bundle));
        // The same chunk again, to the other worker: a replay must not anchor twice.
        if (i % 200 === 0) pushes.push(push((i / 50) % 2 ? b.url : a.url, '/fhir', bundle));
      }
      for (const r of await Promise.all(pushes)) assert.equal(r.status, 202);
      const counts = await waitFor(
        async () => {
          const c = await a.app.outbox.counts();
          return c.records.received + c.records.stored + c.records.batched === 0 && c.records.anchored > 0
            ? c
            : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 200, what: 'all anchored via PostgreSQL' },
      );
      assert.equal(counts.records.anchored, resources.length);
      const batches = await a.app.outbox.listBatches(1000);
      assert.equal(
        batches.reduce((n, x) => n + x.count, 0),
        resources.length,
      );
      const logs = await a.app.chain.registry.queryFilter(
        a.app.chain.registry.filters.Anchored!(),
        0,
        'latest',
      );
      assert.equal(logs.length, batches.length, 'one anchor transaction per batch');
      for (const batch of batches) assert.ok((await a.app.chain.anchorOf(batch.root)).timestamp > 0);
    } finally {
      await Promise.all([a.app.close(), b.app.close()]);
    }
  });
});
