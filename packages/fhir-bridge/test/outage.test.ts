/**
 * Outages only delay anchoring: with Kubo or anvil stopped mid-run the bridge keeps accepting
 * pushes (the outbox is enough for a 202), /readyz says which dependency is down, and once it is
 * back everything queued anchors — nothing lost, nothing twice.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, loadBulkResources, startKubo, waitFor, type Kubo } from '@ehr-anchor/testkit';
import { bridgeFor, push, restartAnvil, startChain, type Chain, type Env } from './helpers.js';

function collection(resources: unknown[]) {
  return { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
}

describe('IPFS and chain outages', () => {
  let dir: string;
  let chain: Chain;
  let kubo: Kubo;
  let kuboPorts: { apiPort: number; gatewayPort: number };
  let anvilPort: number;
  const resources = loadBulkResources(['Condition', 'Immunization', 'Procedure']).slice(0, 1200);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-outage-'));
    anvilPort = await freePort();
    kuboPorts = { apiPort: await freePort(), gatewayPort: await freePort() };
    [chain, kubo] = await Promise.all([
      startChain(dir, { port: anvilPort, statePath: join(dir, 'anvil-state.json') }),
      startKubo({ repoPath: join(dir, 'ipfs'), ...kuboPorts }),
    ]);
  });
  after(async () => {
    await Promise.all([chain?.anvil.stop(), kubo?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const env = (): Env => ({ dir, chain, kubo, stop: async () => undefined });

  async function ready(url: string) {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean }> } };
  }

  async function settled(app: Awaited<ReturnType<typeof bridgeFor>>['app']) {
    return waitFor(
      async () => {
        const c = await app.outbox.counts();
        return c.records.received + c.records.stored + c.records.batched === 0 ? c : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: 'everything anchored' },
    );
  }

  it(
    'keeps accepting while Kubo is down and anchors everything once it is back',
    { timeout: 300_000 },
    async () => {
      const bridge = await bridgeFor(env(), 'kubo-outage', { batchMax: 200, batchMaxMs: 100 });
      try {
        assert.equal((await push(bridge.url, '/fhir', collection(resources.slice(0, 200)))).status, 202);
        await kubo.stop();
        for (let i = 200; i < 600; i += 100) {
          assert.equal(
            (await push(bridge.url, '/fhir', collection(resources.slice(i, i + 100)))).status,
            202,
            'ingest does not need IPFS',
          );
        }
        const down = await ready(bridge.url);
        assert.equal(down.status, 503);
        assert.equal(down.body.checks.ipfs!.ok, false);
        assert.equal(down.body.checks.chain!.ok, true);
        await waitFor(async () => (await bridge.app.outbox.counts()).records.received > 0, {
          what: 'records waiting for IPFS',
        });
        kubo = await startKubo({ repoPath: join(dir, 'ipfs'), ...kuboPorts });
        const counts = await settled(bridge.app);
        assert.equal(counts.records.anchored, 600);
        assert.equal((await ready(bridge.url)).status, 200);
        // Every envelope really is in the restarted Kubo.
        const [sample] = await bridge.app.outbox.versions(
          'Procedure',
          (resources.slice(0, 600).findLast((r) => r.resourceType === 'Procedure') ?? resources[599]!).id!,
        );
        if (sample)
          assert.ok(
            (await fetch(`${kubo.apiUrl}/api/v0/block/stat?arg=${sample.cid}`, { method: 'POST' })).ok,
          );
      } finally {
        await bridge.app.close();
      }
    },
  );

  it(
    'keeps accepting while the chain is down and anchors everything once it is back',
    { timeout: 300_000 },
    async () => {
      const bridge = await bridgeFor(env(), 'chain-outage', { batchMax: 200, batchMaxMs: 100 });
      try {
        await chain.anvil.stop();
        for (let i = 600; i < 1200; i += 100) {
          assert.equal(
            (await push(bridge.url, '/fhir', collection(resources.slice(i, i + 100)))).status,
            202,
            'ingest does not need the chain',
          );
        }
        const down = await ready(bridge.url);
        assert.equal(down.status, 503);
        assert.equal(down.body.checks.chain!.ok, false);
        await waitFor(async () => (await bridge.app.outbox.counts()).records.batched > 0, {
          what: 'batches waiting for the chain',
          timeoutMs: 60_000,
        });
        const restarted = await restartAnvil(chain, dir, anvilPort);
        chain = restarted;
        const counts = await settled(bridge.app);
        assert.equal(counts.records.anchored, 600);
        const batches = await bridge.app.outbox.listBatches(1000);
        for (const b of batches) {
          const onChain = await bridge.app.chain.anchorOf(b.root);
          assert.ok(onChain.timestamp > 0, `batch ${b.id} is anchored on chain`);
          assert.equal(onChain.count, b.count);
        }
      } finally {
        await bridge.app.close();
      }
    },
  );
});
