/**
 * The outbox's schema 1 → 2 migration, on the real thing: a schema-1 outbox (SQLite file and a
 * real PostgreSQL, testkit) holding rows in every state — received (plaintext body), stored,
 * batched in a pending batch, anchored (Provenance written, failed, none; a tombstone) — opened by
 * a real bridge (Kubo + anvil). Afterwards no plaintext resource id or body term remains in the
 * tables, indexes and statistics (PostgreSQL: every relation file of the database after a
 * checkpoint) or in the SQLite file and its WAL (testkit's PHI scanner, every encoding it knows),
 * and every row keeps working: anchored rows answer `/anchors` with a proof that reaches their
 * root, and the queued rows are anchored on chain by the pipeline.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { buildTree, verifyProof, type Hex } from '@ehr-anchor/core';
import { PhiScanner, describeHit, startPostgres, waitFor, type Postgres } from '@ehr-anchor/testkit';
import pg from 'pg';
import { encodeProof } from '../src/outbox/schema.js';
import { BEARER, bridgeFor, startEnv, type Env } from './helpers.js';

/**
 * Schema 1 as the bridge created it until b99d0cb (src/outbox/schema.ts then): the resource id in
 * clear (`resource_id`, in the UNIQUE index too), bodies in clear (SQLite: `bodies`; PostgreSQL:
 * `records.body`), `failed:<status>` Provenance outcomes.
 */
function schema1(d: { serial: string; blob: string; bigint: string }): string[] {
  return [
    `CREATE TABLE batches (id ${d.serial}, state TEXT NOT NULL CHECK (state IN ('pending','sent','anchored')),
      root TEXT NOT NULL UNIQUE, manifest_cid TEXT NOT NULL, count INTEGER NOT NULL, created_at ${d.bigint} NOT NULL,
      lease_until ${d.bigint} NOT NULL DEFAULT 0, tx_hash TEXT, raw_tx TEXT, nonce ${d.bigint}, block_number ${d.bigint},
      anchored_at ${d.bigint}, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)`,
    `CREATE TABLE records (seq ${d.serial}, source TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
      version_id TEXT NOT NULL, content_hash TEXT NOT NULL, subject TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
      body ${d.blob}, state TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received','stored','batched','anchored')),
      received_at ${d.bigint} NOT NULL, lease_until ${d.bigint} NOT NULL DEFAULT 0, cid TEXT, salt TEXT, leaf TEXT,
      key_id TEXT, stored_at ${d.bigint}, batch_id ${d.bigint} REFERENCES batches(id), proof TEXT, anchored_at ${d.bigint},
      provenance TEXT, UNIQUE (resource_type, resource_id, version_id, content_hash))`,
    'CREATE INDEX records_state ON records (state, seq)',
    'CREATE INDEX records_subject ON records (subject, seq)',
    'CREATE INDEX batches_state ON batches (state, id)',
    `CREATE INDEX records_provenance ON records (source, seq) WHERE state = 'anchored' AND provenance IS NULL`,
    'CREATE TABLE bridge_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  ];
}

const SUBJECT = `0x${'ab'.repeat(32)}`;
const NAME = 'Philippa-Zq7x-Plaintextname';
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

interface Row {
  type: string;
  id: string;
  state: 'received' | 'stored' | 'batched' | 'anchored';
  deleted?: boolean;
  batch?: 'A' | 'B';
  provenance?: string;
  body?: string;
}

/** Every state a schema-1 row can be in; ids unique to this test so the scanner finds only them. */
const ROWS: Row[] = [
  {
    type: 'Encounter',
    id: 'enc-Zq7xPlain-anchored',
    state: 'anchored',
    batch: 'A',
    provenance: 'done:prov-1',
  },
  {
    type: 'Observation',
    id: 'obs-Zq7xPlain-deadletter',
    state: 'anchored',
    batch: 'A',
    provenance: 'failed:500',
  },
  { type: 'Condition', id: 'cond-Zq7xPlain-tombstone', state: 'anchored', batch: 'A', deleted: true },
  { type: 'Observation', id: 'obs-Zq7xPlain-batched-1', state: 'batched', batch: 'B' },
  { type: 'Observation', id: 'obs-Zq7xPlain-batched-2', state: 'batched', batch: 'B' },
  { type: 'Observation', id: 'obs-Zq7xPlain-stored', state: 'stored' },
  { type: 'MedicationRequest', id: 'med-Zq7xPlain-stored', state: 'stored' },
  {
    type: 'Patient',
    id: 'pat-Zq7xPlain-received',
    state: 'received',
    body: JSON.stringify({ resourceType: 'Patient', id: 'pat-Zq7xPlain-received', name: [{ text: NAME }] }),
  },
  {
    type: 'Observation',
    id: 'obs-Zq7xPlain-received',
    state: 'received',
    body: JSON.stringify({ resourceType: 'Observation', id: 'obs-Zq7xPlain-received', status: 'final' }),
  },
];
const scanner = new PhiScanner([
  ...ROWS.map((r) => ({ term: r.id, field: `${r.type}.id` })),
  { term: NAME, field: 'Patient.name' },
]);

/**
 * The batches of the schema-1 outbox: A anchored (before this test's chain), B pending. `db` keeps
 * the leaves (so the roots) of the two databases apart: both are anchored on the same chain.
 */
function batches(db: number) {
  const leaves = new Map(ROWS.map((r, i) => [r.id, hex32(0x1000 + 0x100 * db + i)]));
  const treeOf = (b: 'A' | 'B') => {
    const members = ROWS.filter((r) => r.batch === b);
    const tree = buildTree(members.map((m) => leaves.get(m.id)!));
    return { members, tree, proofs: new Map(members.map((m, i) => [m.id, tree.proof(i) as string[]])) };
  };
  return { leaves, A: treeOf('A'), B: treeOf('B') };
}

/** One schema-1 row's column values (body apart: where it goes differs by database). */
function columns(r: Row, i: number, b: ReturnType<typeof batches>, batchIds: { A: number; B: number }) {
  const stored = r.state !== 'received';
  const proof = r.batch ? b[r.batch].proofs.get(r.id)! : null;
  return {
    source: 'hapi',
    resource_type: r.type,
    resource_id: r.id,
    version_id: '1',
    content_hash: hex32(0x2000 + i),
    subject: SUBJECT,
    deleted: r.deleted ? 1 : 0,
    state: r.state,
    received_at: 1_700_000_000_000 + i,
    cid: stored ? CID : null,
    salt: stored ? hex32(0x3000 + i) : null,
    leaf: stored ? b.leaves.get(r.id)! : null,
    key_id: stored ? 'k1' : null,
    stored_at: stored ? 1_700_000_000_500 : null,
    batch_id: r.batch ? batchIds[r.batch] : null,
    proof,
    anchored_at: r.state === 'anchored' ? 1_700_000_001_000 : null,
    provenance: r.provenance ?? null,
  };
}

interface Lookup {
  versions: {
    state: string;
    deleted: boolean;
    leaf: { leafHash: Hex } | null;
    proof: Hex[] | null;
    batch: { root: Hex; txHash: string | null } | null;
  }[];
}

async function anchorsOf(url: string, r: Row): Promise<Lookup> {
  const res = await fetch(`${url}/anchors/${r.type}/${r.id}`, {
    headers: { authorization: `Bearer ${BEARER}` },
  });
  assert.equal(res.status, 200, `${r.type}/${r.id}`);
  return (await res.json()) as Lookup;
}

describe('outbox schema 1 → 2 migration with rows in every state (SQLite and PostgreSQL, real bridge)', () => {
  let env: Env;
  let postgres: Postgres;
  before(async () => {
    [env, postgres] = await Promise.all([startEnv(), startPostgres()]);
  });
  after(async () => {
    await Promise.all([env?.stop(), postgres?.stop()]);
  });

  /** Opens the migrated outbox with a real bridge and checks every row works; returns the bridge. */
  async function migrateAndRun(sub: string, outbox: string, b: ReturnType<typeof batches>) {
    const bridge = await bridgeFor(env, sub, { outbox, batchMax: 100, batchMaxMs: 100 });
    try {
      assert.equal(await bridge.app.outbox.getState('outbox:schema'), '2');
      // The queued rows (received, stored, the pending batch) are anchored by the pipeline.
      await waitFor(async () => (await bridge.app.outbox.counts()).records.anchored === ROWS.length, {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: 'every migrated row anchored',
      });
      for (const r of ROWS) {
        const [v] = (await anchorsOf(bridge.url, r)).versions;
        assert.equal(v!.state, 'anchored', r.id);
        assert.equal(v!.deleted, !!r.deleted, r.id);
        // Readable with a proof that reaches its batch's root …
        assert.ok(v!.leaf && v!.proof && v!.batch, r.id);
        assert.ok(verifyProof(v!.leaf.leafHash, v!.proof, v!.batch.root), `${r.id}: proof reaches the root`);
        if (r.batch === 'A') {
          assert.equal(v!.leaf.leafHash, b.leaves.get(r.id), `${r.id}: its schema-1 leaf`);
          assert.equal(v!.batch.root, b.A.tree.root);
        } else {
          // … and the root the pipeline anchored is on chain, by this bridge's hospital.
          const onChain = await bridge.app.chain.anchorOf(v!.batch.root);
          assert.ok(onChain.timestamp > 0, `${r.id}: root on chain`);
        }
        if (r.batch === 'B')
          assert.equal(v!.batch.root, b.B.tree.root, `${r.id}: the pending batch anchored as it was`);
      }
      const provenance = async (r: Row) => (await bridge.app.outbox.versions(r.type, r.id))[0]!.provenance;
      assert.deepEqual(await Promise.all(ROWS.slice(0, 3).map(provenance)), [
        'done:prov-1',
        'dead:failed:500',
        null,
      ]);
      assert.deepEqual(await bridge.app.outbox.deadLetters(), { provenance: 1 });
      // The received Patient's body was sealed with the migrated id and stored: its leaf is a new one.
      const received = (await anchorsOf(bridge.url, ROWS[7]!)).versions[0]!;
      assert.notEqual(received.leaf!.leafHash, b.leaves.get(ROWS[7]!.id));
    } finally {
      await bridge.app.close();
    }
    return bridge;
  }

  it('SQLite: the file and its WAL hold no plaintext id or body term afterwards; every row anchored, readable with its proof', async () => {
    const dir = join(env.dir, 'sqlite-v1');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'outbox.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL');
    for (const sql of schema1({
      serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
      blob: 'BLOB',
      bigint: 'INTEGER',
    }))
      db.exec(sql);
    db.exec('CREATE TABLE bodies (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    const b = batches(1);
    const batch = db.prepare(
      'INSERT INTO batches (state, root, manifest_cid, count, created_at, tx_hash, block_number, anchored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const A = Number(batch.run('anchored', b.A.tree.root, CID, 3, 1, hex32(0xa), 5, 2).lastInsertRowid);
    const B = Number(batch.run('pending', b.B.tree.root, CID, 2, 1, null, null, null).lastInsertRowid);
    ROWS.forEach((r, i) => {
      const c = columns(r, i, b, { A, B });
      const keys = Object.keys(c);
      const values = Object.values(c).map((v, k) =>
        keys[k] === 'proof' && Array.isArray(v) ? encodeProof(v as string[]) : v,
      );
      const seq = db
        .prepare(`INSERT INTO records (${keys.join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`)
        .run(...(values as (string | number | null | Uint8Array)[])).lastInsertRowid;
      if (r.body)
        db.prepare('INSERT INTO bodies (seq, body) VALUES (?, ?)').run(seq, new TextEncoder().encode(r.body));
    });
    db.close();
    const files = () =>
      Buffer.concat(
        readdirSync(dir)
          .filter((f) => f.startsWith('outbox.db'))
          .map((f) => readFileSync(join(dir, f))),
      );
    // The scanner sees schema 1's plaintext (each id, the name in a body): it can fail.
    const before = scanner.scan(files());
    assert.equal(
      new Set(before.map((h) => h.term)).size,
      ROWS.length + 1,
      'schema 1 holds every id and the name in clear',
    );

    await migrateAndRun('sqlite-v1', `sqlite:${path}`, b);
    const hits = scanner.scan(files());
    assert.deepEqual(hits.map(describeHit), [], 'no plaintext id or body term in outbox.db, -wal, -shm');
  });

  it('PostgreSQL: no relation file of the database (tables, TOAST, indexes, statistics) holds a plaintext id or body term afterwards; every row anchored, readable with its proof', async () => {
    const url = postgres.url;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const sql of schema1({ serial: 'BIGSERIAL PRIMARY KEY', blob: 'BYTEA', bigint: 'BIGINT' }))
        await client.query(sql);
      const b = batches(2);
      const batch = async (state: string, root: string, count: number, tx: string | null) =>
        Number(
          (
            await client.query(
              'INSERT INTO batches (state, root, manifest_cid, count, created_at, tx_hash, block_number, anchored_at) VALUES ($1, $2, $3, $4, 1, $5, $6, $7) RETURNING id',
              [state, root, CID, count, tx, tx ? 5 : null, tx ? 2 : null],
            )
          ).rows[0].id,
        );
      const A = await batch('anchored', b.A.tree.root, 3, hex32(0xa));
      const B = await batch('pending', b.B.tree.root, 2, null);
      for (const [i, r] of ROWS.entries()) {
        const c = { ...columns(r, i, b, { A, B }), body: r.body ? Buffer.from(r.body) : null };
        const keys = Object.keys(c);
        await client.query(
          `INSERT INTO records (${keys.join(', ')}) VALUES (${keys.map((_, k) => `$${k + 1}`).join(', ')})`,
          Object.values(c).map((v) => (Array.isArray(v) ? JSON.stringify(v) : v)),
        );
      }
      // A production database has statistics: their most common values are the ids themselves.
      await client.query('ANALYZE records');
      /** Every relation file of the database after a checkpoint, named by its relation. */
      const relationFiles = async () => {
        await client.query('CHECKPOINT');
        const dataDir = String((await client.query('SHOW data_directory')).rows[0].data_directory);
        const oid = String(
          (await client.query('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0].oid,
        );
        const names = new Map(
          (
            await client.query(
              'SELECT pg_relation_filenode(oid)::text AS node, relname FROM pg_class WHERE pg_relation_filenode(oid) IS NOT NULL',
            )
          ).rows.map((r: { node: string; relname: string }) => [r.node, r.relname]),
        );
        const base = join(dataDir, 'base', oid);
        return readdirSync(base)
          .map((f) => ({ f, path: join(base, f) }))
          .filter(({ path }) => statSync(path).isFile())
          .map(({ f, path }) => ({
            relation: names.get(f.replace(/(_fsm|_vm|_init)?(\.\d+)?$/, '')) ?? f,
            bytes: readFileSync(path),
          }));
      };
      const scanRelations = async () =>
        (await relationFiles()).flatMap(({ relation, bytes }) =>
          scanner.scan(bytes).map((h) => ({ ...h, relation })),
        );
      const before = await scanRelations();
      assert.equal(
        new Set(before.map((h) => h.term)).size,
        ROWS.length + 1,
        'schema 1 holds every id and the name in clear',
      );

      await migrateAndRun('pg-v1', url, b);
      const hits = await scanRelations();
      assert.deepEqual(
        hits.map((h) => `${h.relation}: ${describeHit(h)}`),
        [],
        'no plaintext id or body term in any relation file of the database',
      );
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM records WHERE resource_key = ANY($1)`,
        [ROWS.map((r) => r.id)],
      );
      assert.equal(rows[0].n, 0);
    } finally {
      await client.end();
    }
  });
});
