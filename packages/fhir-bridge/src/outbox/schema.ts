/** Table definitions shared by both outbox implementations (dialect differences passed in). */
import type { BatchRow, BatchState, LegacyRecord, RecordInfo, RecordState } from './types.js';

export function schemaSql(d: { serial: string; blob: string; bigint: string }): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS batches (
      id ${d.serial},
      state TEXT NOT NULL CHECK (state IN ('pending','sent','anchored')),
      root TEXT NOT NULL UNIQUE,
      manifest_cid TEXT NOT NULL,
      count INTEGER NOT NULL,
      created_at ${d.bigint} NOT NULL,
      lease_until ${d.bigint} NOT NULL DEFAULT 0,
      tx_hash TEXT,
      raw_tx TEXT,
      nonce ${d.bigint},
      block_number ${d.bigint},
      anchored_at ${d.bigint},
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT
    )`,
    `CREATE TABLE IF NOT EXISTS records (
      seq ${d.serial},
      source TEXT NOT NULL,
      resource_type TEXT NOT NULL,
      resource_key TEXT NOT NULL,
      resource_ref ${d.blob},
      version_id TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      subject TEXT NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      body ${d.blob},
      state TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received','stored','batched','anchored')),
      received_at ${d.bigint} NOT NULL,
      lease_until ${d.bigint} NOT NULL DEFAULT 0,
      cid TEXT,
      salt TEXT,
      leaf TEXT,
      key_id TEXT,
      stored_at ${d.bigint},
      batch_id ${d.bigint} REFERENCES batches(id),
      proof TEXT,
      anchored_at ${d.bigint},
      provenance TEXT,
      provenance_attempts INTEGER NOT NULL DEFAULT 0,
      provenance_retry_at ${d.bigint} NOT NULL DEFAULT 0,
      UNIQUE (resource_type, resource_key, version_id, content_hash)
    )`,
    `CREATE INDEX IF NOT EXISTS records_state ON records (state, seq)`,
    `CREATE INDEX IF NOT EXISTS records_subject ON records (subject, seq)`,
    // Lookups by (resource_type, resource_id) use the UNIQUE index's prefix, and records of a batch
    // are found among the few `batched` ones through records_state: two indexes fewer to update
    // for every record (they existed before; dropped where present).
    `DROP INDEX IF EXISTS records_resource`,
    `DROP INDEX IF EXISTS records_batch`,
    `CREATE INDEX IF NOT EXISTS batches_state ON batches (state, id)`,
    `CREATE INDEX IF NOT EXISTS records_provenance ON records (source, seq) WHERE state = 'anchored' AND provenance IS NULL`,
    `CREATE TABLE IF NOT EXISTS bridge_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ];
}

/** Index of the dead letters (created after the columns exist: see {@link legacyColumnsSql}). */
export const DEAD_LETTER_INDEX = `CREATE INDEX IF NOT EXISTS records_dead ON records (seq) WHERE provenance LIKE 'dead:%'`;

/**
 * Schema 1 → 2 column changes for a `records` table that still has `resource_id` (plaintext):
 * renamed to `resource_key` (its values are then replaced by keyed hashes, outbox/sealed.ts), and
 * the columns schema 2 added. `failed:<status>` Provenance outcomes become dead letters.
 */
export function legacyColumnsSql(d: { blob: string; bigint: string }): string[] {
  return [
    'ALTER TABLE records RENAME COLUMN resource_id TO resource_key',
    `ALTER TABLE records ADD COLUMN resource_ref ${d.blob}`,
    'ALTER TABLE records ADD COLUMN provenance_attempts INTEGER NOT NULL DEFAULT 0',
    `ALTER TABLE records ADD COLUMN provenance_retry_at ${d.bigint} NOT NULL DEFAULT 0`,
    `UPDATE records SET provenance = 'dead:' || provenance WHERE provenance LIKE 'failed:%'`,
  ];
}

export const RECORD_INFO_COLUMNS =
  'seq, source, resource_type, resource_key, resource_ref, version_id, content_hash, subject, deleted, state, received_at, cid, salt, leaf, key_id, batch_id, proof, anchored_at, provenance, provenance_attempts';

export const BATCH_COLUMNS =
  'id, state, root, manifest_cid, count, created_at, tx_hash, raw_tx, nonce, block_number, anchored_at, attempts, last_error';

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * A Merkle proof as the SQLite outbox stores it: its 32-byte nodes back to back (under half the
 * JSON text, written for every record of every batch), read back as lowercase 0x-hex — the form
 * core's trees produce. A proof with any node that is not 0x + 32 bytes of hex stays JSON text.
 */
export function encodeProof(proof: string[]): Uint8Array | string {
  const out = Buffer.allocUnsafe(proof.length * 32);
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i]!;
    // Buffer.write stops at the first character that is not hex: fewer than 32 bytes means malformed.
    if (p.length !== 66 || !p.startsWith('0x') || out.write(p.slice(2), i * 32, 32, 'hex') !== 32)
      return JSON.stringify(proof);
  }
  return out;
}

export function decodeProof(bytes: Uint8Array): string[] {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += 64) out.push(`0x${hex.slice(i, i + 64)}`);
  return out;
}

export function toRecordInfo(r: Row): RecordInfo {
  return {
    seq: num(r.seq),
    source: String(r.source),
    resourceType: String(r.resource_type),
    resourceId: String(r.resource_key),
    versionId: String(r.version_id),
    contentHash: String(r.content_hash),
    subject: String(r.subject),
    deleted: num(r.deleted) === 1,
    state: r.state as RecordState,
    receivedAt: num(r.received_at),
    cid: strOrNull(r.cid),
    salt: strOrNull(r.salt),
    leaf: strOrNull(r.leaf),
    keyId: strOrNull(r.key_id),
    batchId: numOrNull(r.batch_id),
    proof:
      r.proof === null || r.proof === undefined
        ? null
        : r.proof instanceof Uint8Array
          ? decodeProof(r.proof)
          : (JSON.parse(String(r.proof)) as string[]),
    anchoredAt: numOrNull(r.anchored_at),
    provenance: strOrNull(r.provenance),
    provenanceAttempts: num(r.provenance_attempts ?? 0),
    resourceRef:
      r.resource_ref === null || r.resource_ref === undefined
        ? null
        : new Uint8Array(r.resource_ref as Uint8Array),
  };
}

/** A schema-1 row as read for its migration (`resource_key` still holds the plaintext id then). */
export function toLegacyRecord(r: Row): LegacyRecord {
  return {
    seq: num(r.seq),
    resourceType: String(r.resource_type),
    resourceId: String(r.resource_key),
    versionId: String(r.version_id),
    contentHash: String(r.content_hash),
    body: r.body === null || r.body === undefined ? null : new Uint8Array(r.body as Uint8Array),
  };
}

export function toBatchRow(r: Row): BatchRow {
  return {
    id: num(r.id),
    state: r.state as BatchState,
    root: String(r.root),
    manifestCid: String(r.manifest_cid),
    count: num(r.count),
    createdAt: num(r.created_at),
    txHash: strOrNull(r.tx_hash),
    rawTx: strOrNull(r.raw_tx),
    nonce: numOrNull(r.nonce),
    blockNumber: numOrNull(r.block_number),
    anchoredAt: numOrNull(r.anchored_at),
    attempts: num(r.attempts),
    lastError: strOrNull(r.last_error),
  };
}

export function emptyCounts() {
  return {
    records: { received: 0, stored: 0, batched: 0, anchored: 0 },
    batches: { pending: 0, sent: 0, anchored: 0 },
  };
}
