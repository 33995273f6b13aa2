/**
 * One suite, two outboxes: the embedded node:sqlite file and a real PostgreSQL (testkit), each
 * seen as the bridge sees it (SealedOutbox: keyed ids, sealed ids and bodies). Both must give the
 * same guarantees: idempotent enqueue, leases, conditional state moves. Then what is at rest: no
 * id or body in clear in the file or its WAL, ciphertext bound to its row, and the migration of
 * a schema-1 outbox.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type Postgres } from '@ehr-anchor/testkit';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import {
  AtRestKeys,
  PostgresOutbox,
  SealedOutbox,
  SqliteOutbox,
  openOutbox,
  type IncomingVersion,
  type Outbox,
} from '../src/outbox/index.js';

const KEY = new Uint8Array(randomBytes(32));
const sealed = (inner: Outbox) => new SealedOutbox(inner, new AtRestKeys(KEY));

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
    const o = sealed(new SqliteOutbox(join(dir, 'outbox.db')));
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
    const o = sealed(new PostgresOutbox(pgServer.url));
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

describe('outbox at rest (identifiers, bodies, schema-1 migration)', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ehr-outbox-rest-'));
  });
  after(async () => rm(tmp, { recursive: true, force: true }));

  const secretId = 'patient-id-Zq7xPlaintext';
  const secretName = 'Jane-Plaintext-Doe';
  const patient = (id = secretId): IncomingVersion => ({
    source: 'test',
    resourceType: 'Patient',
    resourceId: id,
    versionId: '1',
    contentHash: `0x${'12'.repeat(32)}`,
    subject: `0x${'ab'.repeat(32)}`,
    deleted: false,
    body: new TextEncoder().encode(
      JSON.stringify({ resourceType: 'Patient', id, name: [{ text: secretName }] }),
    ),
  });
  const filesOf = (d: string) =>
    Buffer.concat(
      readdirSync(d)
        .filter((f) => f.startsWith('outbox.db'))
        .map((f) => readFileSync(join(d, f))),
    );

  it('keeps no resource id or body in clear in the SQLite file or its WAL, and gives both back to the bridge', async () => {
    const d = await mkdtemp(join(tmp, 'a-'));
    const o = await openOutbox(`sqlite:${join(d, 'outbox.db')}`, KEY);
    await o.enqueue([patient()]);
    const bytes = filesOf(d);
    assert.ok(bytes.length > 0);
    for (const needle of [secretId, secretName, Buffer.from(secretId).toString('hex')])
      assert.equal(bytes.indexOf(needle), -1, needle);
    const [v] = await o.versions('Patient', secretId);
    assert.equal(v!.resourceId, secretId);
    const [r] = await o.claimReceived(10, 60_000);
    assert.equal(r!.resourceId, secretId);
    assert.match(new TextDecoder().decode(r!.body), new RegExp(secretName));
    await o.close();
  });

  it('refuses ciphertext moved to another row (bound to its row), without holding up the other rows', async () => {
    const d = await mkdtemp(join(tmp, 'b-'));
    const path = join(d, 'outbox.db');
    const o = await openOutbox(`sqlite:${path}`, KEY);
    await o.enqueue([patient('p-1'), patient('p-2')]);
    await o.close();
    const db = new DatabaseSync(path);
    const [a, b] = db.prepare('SELECT seq, resource_ref FROM records ORDER BY seq').all() as {
      seq: number;
      resource_ref: Uint8Array;
    }[];
    db.prepare('UPDATE records SET resource_ref = ? WHERE seq = ?').run(a!.resource_ref, b!.seq);
    db.close();
    const again = (await openOutbox(`sqlite:${path}`, KEY)) as SealedOutbox;
    await assert.rejects(() => again.versions('Patient', 'p-2'));
    assert.equal((await again.versions('Patient', 'p-1'))[0]!.resourceId, 'p-1');
    // The store step gets the good row; the altered one is left out (leased), not a poison for the others.
    const unreadable: number[] = [];
    again.onUnreadable = (seq) => unreadable.push(seq);
    const claimed = await again.claimReceived(10, 60_000);
    assert.deepEqual(
      claimed.map((r) => r.resourceId),
      ['p-1'],
    );
    assert.deepEqual(unreadable, [b!.seq]);
    assert.deepEqual(await again.claimReceived(10, 60_000), [], 'the altered row stays leased');
    await again.close();
  });

  it('migrates a schema-1 outbox in place: ids become keyed hashes, bodies ciphertext, old pages scrubbed', async () => {
    const d = await mkdtemp(join(tmp, 'c-'));
    const path = join(d, 'outbox.db');
    // The schema-1 tables as the bridge wrote them before (plaintext resource_id and bodies).
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, root TEXT NOT NULL UNIQUE,
      manifest_cid TEXT NOT NULL, count INTEGER NOT NULL, created_at INTEGER NOT NULL, lease_until INTEGER NOT NULL DEFAULT 0,
      tx_hash TEXT, raw_tx TEXT, nonce INTEGER, block_number INTEGER, anchored_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)`);
    db.exec(`CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, resource_type TEXT NOT NULL,
      resource_id TEXT NOT NULL, version_id TEXT NOT NULL, content_hash TEXT NOT NULL, subject TEXT NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0, body BLOB, state TEXT NOT NULL DEFAULT 'received', received_at INTEGER NOT NULL,
      lease_until INTEGER NOT NULL DEFAULT 0, cid TEXT, salt TEXT, leaf TEXT, key_id TEXT, stored_at INTEGER,
      batch_id INTEGER REFERENCES batches(id), proof TEXT, anchored_at INTEGER, provenance TEXT,
      UNIQUE (resource_type, resource_id, version_id, content_hash))`);
    db.exec('CREATE TABLE bodies (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    db.exec('CREATE TABLE bridge_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const p = patient();
    db.prepare(
      `INSERT INTO records (source, resource_type, resource_id, version_id, content_hash, subject, received_at, state, provenance)
       VALUES (?, ?, ?, ?, ?, ?, 1, 'received', NULL), ('test', 'Observation', 'obs-legacy', '1', ?, ?, 1, 'anchored', 'failed:500')`,
    ).run(
      p.source,
      p.resourceType,
      p.resourceId,
      p.versionId,
      p.contentHash,
      p.subject,
      `0x${'34'.repeat(32)}`,
      p.subject,
    );
    db.prepare('INSERT INTO bodies (seq, body) VALUES (1, ?)').run(p.body);
    db.close();
    assert.notEqual(filesOf(d).indexOf(secretId), -1, 'schema 1 holds the id in clear');

    const o = await openOutbox(`sqlite:${path}`, KEY);
    assert.equal(await o.getState('outbox:schema'), '2');
    const [v] = await o.versions('Patient', secretId);
    assert.equal(v!.resourceId, secretId);
    assert.equal((await o.versions('Observation', 'obs-legacy'))[0]!.provenance, 'dead:failed:500');
    assert.deepEqual(await o.deadLetters(), { provenance: 1 });
    const [r] = await o.claimReceived(10, 60_000);
    assert.match(new TextDecoder().decode(r!.body), new RegExp(secretName));
    await o.close();
    const bytes = filesOf(d);
    for (const needle of [secretId, secretName, 'obs-legacy'])
      assert.equal(bytes.indexOf(needle), -1, needle);
    // Opening again changes nothing.
    const twice = await openOutbox(`sqlite:${path}`, KEY);
    assert.equal((await twice.versions('Patient', secretId)).length, 1);
    await twice.close();
  });
});
