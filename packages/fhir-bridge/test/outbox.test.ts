/**
 * One suite, two outboxes: the embedded node:sqlite file and a real PostgreSQL (testkit). Both
 * must give the same guarantees: idempotent enqueue, leases, conditional state moves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type Postgres } from '@ehr-anchor/testkit';
import { PostgresOutbox, SqliteOutbox, type IncomingVersion, type Outbox } from '../src/outbox/index.js';

function version(i: number, over: Partial<IncomingVersion> = {}): IncomingVersion {
  return {
    source: 'test',
    resourceType: 'Observation',
    resourceId: `obs-${i}`,
    versionId: '1',
    contentHash: `0x${i.toString(16).padStart(64, '0')}`,
    subject: `0x${'ab'.repeat(32)}`,
    deleted: false,
    body: new TextEncoder().encode(JSON.stringify({ resourceType: 'Observation', id: `obs-${i}` })),
    ...over,
  };
}

const leaf = (i: number) => `0x${(i + 1000).toString(16).padStart(64, '0')}`;

function outboxSuite(name: string, open: () => Promise<Outbox>, close: (o: Outbox) => Promise<void>) {
  describe(`${name} outbox`, () => {
    let outbox: Outbox;
    before(async () => {
      outbox = await open();
    });
    after(async () => close(outbox));

    it('commits a version once however often it is enqueued (replays are duplicates)', async () => {
      const first = await outbox.enqueue([version(1), version(2)]);
      assert.deepEqual(
        first.map((r) => r.duplicate),
        [false, false],
      );
      const again = await outbox.enqueue([version(2), version(1), version(2), version(3)]);
      assert.deepEqual(
        again.map((r) => r.duplicate),
        [true, true, true, false],
      );
      assert.equal(again[0]!.seq, first[1]!.seq);
      assert.equal(again[1]!.seq, first[0]!.seq);
      assert.equal((await outbox.counts()).records.received, 3);
    });

    it('keeps a reused version id with different content as a second version', async () => {
      const [a] = await outbox.enqueue([version(9)]);
      const [b] = await outbox.enqueue([version(9, { contentHash: `0x${'ff'.repeat(32)}` })]);
      assert.equal(b!.duplicate, false);
      assert.notEqual(a!.seq, b!.seq);
      assert.equal((await outbox.versions('Observation', 'obs-9')).length, 2);
    });

    it('leases received records to one claimer until the lease expires or is released', async () => {
      const now = Date.now();
      const claimed = await outbox.claimReceived(100, 60_000, now);
      assert.equal(claimed.length, 5);
      assert.deepEqual(await outbox.claimReceived(100, 60_000, now + 1), []);
      await outbox.release(claimed.slice(0, 2).map((r) => r.seq));
      assert.equal((await outbox.claimReceived(100, 60_000, now + 2)).length, 2);
      assert.equal((await outbox.claimReceived(100, 60_000, now + 60_003)).length, 5);
      assert.equal(
        new TextDecoder().decode(claimed[0]!.body),
        JSON.stringify({ resourceType: 'Observation', id: 'obs-1' }),
      );
    });

    it('moves received → stored once and drops the plaintext body', async () => {
      const claimed = await outbox.claimReceived(100, 60_000, Date.now() + 240_000);
      const updates = claimed.map((r) => ({
        seq: r.seq,
        cid: `cid-${r.seq}`,
        salt: '0x01',
        leaf: leaf(r.seq),
        keyId: 'k1',
      }));
      assert.equal(await outbox.markStored(updates), 5);
      assert.equal(await outbox.markStored(updates), 0, 'a second run changes nothing');
      const stored = await outbox.stored();
      assert.equal(stored.count, 5);
      assert.ok(stored.oldestReceivedAt! > 0);
      assert.deepEqual(await outbox.claimReceived(100, 60_000, Date.now() + 480_000), []);
    });

    it('batches stored records all-or-nothing and anchors them with their batch', async () => {
      const stored = await outbox.claimStored(3, 60_000);
      assert.equal(stored.length, 3);
      const members = stored.map((s) => ({ seq: s.seq, proof: [leaf(s.seq)] }));
      const id = await outbox.createBatch({
        root: `0x${'11'.repeat(32)}`,
        manifestCid: 'bafy-manifest',
        members,
      });
      await assert.rejects(
        outbox.createBatch({ root: `0x${'12'.repeat(32)}`, manifestCid: 'bafy-2', members }),
        /no longer stored/,
      );
      assert.equal((await outbox.listBatches(10)).length, 1, 'the abandoned batch left no row');
      const batch = await outbox.claimBatch(60_000);
      assert.equal(batch?.id, id);
      assert.equal(batch?.count, 3);
      assert.equal(await outbox.claimBatch(60_000), undefined, 'leased');
      await outbox.markBatchSent(id, { hash: `0x${'22'.repeat(32)}`, raw: '0xf8', nonce: 7 });
      await outbox.markBatchAnchored(id, 42);
      const counts = await outbox.counts();
      assert.equal(counts.records.anchored, 3);
      assert.equal(counts.records.stored, 2);
      assert.equal(counts.batches.anchored, 1);
      const [info] = await outbox.bySeq([stored[0]!.seq]);
      assert.equal(info!.state, 'anchored');
      assert.deepEqual(info!.proof, [leaf(stored[0]!.seq)]);
      assert.equal((await outbox.getBatch(id))!.blockNumber, 42);
      assert.equal((await outbox.getBatch(id))!.txHash, `0x${'22'.repeat(32)}`);
    });

    it('lists anchored records per source for Provenance write-back until marked', async () => {
      const pending = await outbox.pendingProvenance('test', 10);
      assert.equal(pending.length, 3);
      await outbox.setProvenance(pending[0]!.seq, 'done');
      assert.equal((await outbox.pendingProvenance('test', 10)).length, 2);
      assert.equal((await outbox.pendingProvenance('other', 10)).length, 0);
    });

    it('finds records by pseudonymous subject and keeps small state values', async () => {
      assert.equal((await outbox.bySubject(`0x${'ab'.repeat(32)}`, 100)).length, 5);
      assert.equal(await outbox.getState('sync:x'), undefined);
      await outbox.setState('sync:x', 'page-2');
      await outbox.setState('sync:x', 'page-3');
      assert.equal(await outbox.getState('sync:x'), 'page-3');
    });

    it('enqueues 5,000 versions in one transaction', async () => {
      const many = Array.from({ length: 5000 }, (_, i) => version(10_000 + i));
      const results = await outbox.enqueue(many);
      assert.equal(results.filter((r) => !r.duplicate).length, 5000);
      assert.equal(new Set(results.map((r) => r.seq)).size, 5000);
    });
  });
}

let dir: string;
outboxSuite(
  'node:sqlite',
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-outbox-'));
    const o = new SqliteOutbox(join(dir, 'outbox.db'));
    await o.init();
    return o;
  },
  async (o) => {
    await o.close();
    await rm(dir, { recursive: true, force: true });
  },
);

let pgServer: Postgres;
outboxSuite(
  'PostgreSQL',
  async () => {
    pgServer = await startPostgres();
    const o = new PostgresOutbox(pgServer.url);
    await o.init();
    return o;
  },
  async (o) => {
    await o.close();
    await pgServer.stop();
  },
);

describe('PostgreSQL outbox shared by several workers', () => {
  let server: Postgres;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => server.stop());

  it('never hands the same record to two concurrent claimers (SKIP LOCKED)', async () => {
    const workers = [
      new PostgresOutbox(server.url),
      new PostgresOutbox(server.url),
      new PostgresOutbox(server.url),
    ];
    await Promise.all(workers.map((w) => w.init()));
    await workers[0]!.enqueue(Array.from({ length: 600 }, (_, i) => version(i)));
    const claims = await Promise.all(
      workers.flatMap((w) => [
        w.claimReceived(70, 60_000),
        w.claimReceived(70, 60_000),
        w.claimReceived(70, 60_000),
      ]),
    );
    const seqs = claims.flat().map((r) => r.seq);
    assert.equal(seqs.length, 600, '9 claims of 70 take all 600');
    assert.equal(new Set(seqs).size, seqs.length, 'no record claimed twice');
    await Promise.all(workers.map((w) => w.close()));
  });
});
