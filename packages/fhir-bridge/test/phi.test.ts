/**
 * No PHI outside ciphertext: after the fixtures (5 Synthea bundles; bulk-10 Patients and clinical notes) went
 * through the real pipeline, the fixture patients' names, identifiers, ids, phones, addresses and
 * birth dates (testkit's PHI scanner, every encoding it knows) appear nowhere in the bridge's logs (debug level), the
 * anchor transactions' calldata, the Anchored events, any raw block in Kubo's repository, or any
 * file the bridge writes: the outbox (SQLite file, WAL, shared memory) and the read store, both
 * while versions are queued and once they are anchored.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PhiScanner, describeHit, loadBulkResources, loadSyntheaBundles } from '@ehr-anchor/testkit';
import { bridgeFor, logSink, push, startEnv, waitAnchored, type Env } from './helpers.js';

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else yield p;
  }
}

describe('PHI scan of everything the pipeline emits', () => {
  let env: Env;
  let bridge: Awaited<ReturnType<typeof bridgeFor>>;
  const logs = logSink();
  const scanner = new PhiScanner();
  /** Where each hit is, never what (a failure message must not print patient data). */
  const scan = (bytes: Buffer) => scanner.scan(bytes).map(describeHit);

  before(async () => {
    env = await startEnv();
    // Workers start after the first scan, so it sees every version queued with its body.
    bridge = await bridgeFor(env, 'phi', { logLevel: 'debug', batchMax: 2000, workers: false }, logs.stream);
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  it(
    'finds 0 fixture patient terms in logs, calldata, events and raw IPFS blocks',
    { timeout: 300_000 },
    async () => {
      assert.ok(scanner.terms.length > 50, 'the scanner knows the fixture patients');
      const ids = new Set<string>();
      for (const [, bundle] of loadSyntheaBundles()) {
        assert.equal((await push(bridge.url, '/fhir', bundle)).status, 202);
        for (const e of bundle.entry!) ids.add(`${e.resource!.resourceType}/${e.resource!.id}`);
      }
      // Every bulk Patient and every clinical note (DocumentReference: base64 text about the patients).
      const bulk = loadBulkResources(['Patient', 'DocumentReference']);
      for (const r of bulk) ids.add(`${r.resourceType}/${r.id}`);
      for (let i = 0; i < bulk.length; i += 500) {
        const entry = bulk.slice(i, i + 500).map((resource) => ({ resource }));
        assert.equal(
          (await push(bridge.url, '/fhir', { resourceType: 'Bundle', type: 'collection', entry })).status,
          202,
        );
      }
      // Shared Organizations/Practitioners appear in several bundles with the same content: one version each.
      const total = ids.size;
      // At rest, while the versions are still queued (bodies not yet sealed into envelopes): the
      // outbox file, its WAL and the read store hold keyed hashes and ciphertext only.
      const storeHits = async () => {
        const hits: string[] = [];
        for (const name of await readdir(bridge.dir)) {
          if (!name.startsWith('outbox.db')) continue;
          for (const h of scan(await readFile(join(bridge.dir, name)))) hits.push(`${name}: ${h}`);
        }
        return hits;
      };
      const queued = await bridge.app.outbox.counts();
      assert.equal(queued.records.received, total, 'every version is queued with its body');
      assert.deepEqual(await storeHits(), [], 'outbox, WAL and read store while queued');
      await bridge.app.pipeline.start();
      // An empty notification and a bad request also pass through the logs.
      await push(
        bridge.url,
        `/fhir/Patient/${bulk.find((r) => r.resourceType === 'Patient')!.id}`,
        '{"resourceType":"Patient"',
        {},
      );
      await waitAnchored(bridge.app, total, 240_000);

      // Sanity: the same scan does find the terms in plaintext (the scanner works on these bytes).
      assert.ok(scan(Buffer.from(JSON.stringify(bulk.find((r) => r.resourceType === 'Patient')))).length > 0);

      const logHits = scan(Buffer.from(logs.text()));
      assert.deepEqual(logHits, [], 'logs');
      assert.ok(logs.text().length > 1000, 'logs were written');

      const batches = await bridge.app.outbox.listBatches(10_000);
      assert.ok(batches.length > 0);
      const provider = bridge.app.chain.provider;
      const chainBytes: Buffer[] = [];
      for (const b of batches) {
        const tx = await provider.getTransaction(b.txHash!);
        chainBytes.push(Buffer.from(tx!.data.slice(2), 'hex'), Buffer.from(tx!.data));
        const receipt = await provider.getTransactionReceipt(b.txHash!);
        for (const log of receipt!.logs)
          chainBytes.push(
            Buffer.from(log.data.slice(2), 'hex'),
            Buffer.from(log.data),
            Buffer.from(log.topics.join('')),
          );
      }
      assert.deepEqual(scan(Buffer.concat(chainBytes)), [], 'calldata and events');

      let blocks = 0;
      const blockBytes: Buffer[] = [];
      for await (const file of files(join(env.kubo.repoPath, 'blocks'))) {
        if (!file.endsWith('.data')) continue;
        blocks++;
        blockBytes.push(await readFile(file), Buffer.from('\n'));
      }
      assert.ok(
        blocks >= total,
        `every envelope is a block in Kubo (${blocks} blocks for ${total} versions)`,
      );
      assert.deepEqual(scan(Buffer.concat(blockBytes)), [], 'raw IPFS blocks');
      const written = (await readdir(bridge.dir)).filter((n) => n.startsWith('outbox.db'));
      assert.ok(
        written.includes('outbox.db-wal') && written.some((f) => f.includes('.read.db')),
        written.join(' '),
      );
      assert.deepEqual(
        await storeHits(),
        [],
        `outbox, WAL and read store once anchored (${written.join(', ')})`,
      );
      process.stdout.write(
        `# PHI scan: ${scanner.terms.length} terms (${scanner.needleCount} encodings), ${total} versions, ${blocks} blocks, ${batches.length} anchor txs, ${logs.text().length} log bytes: 0 hits\n`,
      );
    },
  );
});
