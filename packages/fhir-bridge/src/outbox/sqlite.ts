/**
 * The embedded outbox: one `node:sqlite` file in WAL mode with `synchronous=FULL`, so a version
 * acknowledged with 202 survives a crash of the process and of the machine. One bridge process
 * owns the file; scale out with the PostgreSQL outbox instead.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  BATCH_COLUMNS,
  DEAD_LETTER_INDEX,
  RECORD_INFO_COLUMNS,
  emptyCounts,
  encodeProof,
  legacyColumnsSql,
  schemaSql,
  toBatchRow,
  toLegacyRecord,
  toRecordInfo,
} from './schema.js';
import type {
  BatchDraft,
  BatchRow,
  EnqueueResult,
  IncomingVersion,
  LegacyRecord,
  Outbox,
  OutboxCounts,
  ReceivedRecord,
  RecordInfo,
  StoredRecord,
  StoredUpdate,
} from './types.js';

type Row = Record<string, unknown>;

export class SqliteOutbox implements Outbox {
  readonly kind = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = FULL');
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#db.exec('PRAGMA foreign_keys = ON');
    // Bodies are dropped once sealed; zero their pages so no plaintext lingers in free space.
    this.#db.exec('PRAGMA secure_delete = FAST');
    this.#db.exec('PRAGMA cache_size = -8192');
    this.#db.exec('PRAGMA temp_store = MEMORY');
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#stmt(sql).all(...params) as Row[];
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async init(): Promise<void> {
    const columns = this.#db.prepare(`SELECT name FROM pragma_table_info('records')`).all() as Row[];
    if (columns.some((c) => c.name === 'resource_id')) {
      // Schema 1: its ids and bodies are sealed by SealedOutbox.init (legacyRecords/rewriteRecords).
      this.#tx(() => {
        for (const sql of legacyColumnsSql({ blob: 'BLOB', bigint: 'INTEGER' })) this.#db.exec(sql);
      });
    }
    for (const sql of schemaSql({
      serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
      blob: 'BLOB',
      bigint: 'INTEGER',
    })) {
      this.#db.exec(sql);
    }
    this.#db.exec(DEAD_LETTER_INDEX);
    // Plaintext bodies live apart from the state rows, so moving a record's state never rewrites
    // its (possibly large) body, and dropping the body after sealing is one small delete.
    this.#db.exec('CREATE TABLE IF NOT EXISTS bodies (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  }

  async close(): Promise<void> {
    this.#stmts.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  async ping(): Promise<void> {
    this.#stmt('SELECT 1').get();
  }

  async recoverLeases(): Promise<void> {
    this.#leases.clear();
    // Files written before record leases moved to memory may still hold some.
    this.#db.exec('UPDATE records SET lease_until = 0 WHERE lease_until > 0');
    this.#db.exec('UPDATE batches SET lease_until = 0 WHERE lease_until > 0');
  }

  async enqueue(versions: IncomingVersion[], now = Date.now()): Promise<EnqueueResult[]> {
    return this.#tx(() => {
      const insert = this.#stmt(
        `INSERT INTO records (source, resource_type, resource_key, resource_ref, version_id, content_hash, subject, deleted, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`,
      );
      const body = this.#stmt('INSERT INTO bodies (seq, body) VALUES (?, ?)');
      const find = this.#stmt(
        'SELECT seq FROM records WHERE resource_type = ? AND resource_key = ? AND version_id = ? AND content_hash = ?',
      );
      return versions.map((v) => {
        const row = insert.get(
          v.source,
          v.resourceType,
          v.resourceId,
          v.resourceRef ?? null,
          v.versionId,
          v.contentHash,
          v.subject,
          v.deleted ? 1 : 0,
          now,
        ) as Row | undefined;
        if (row) {
          body.run(row.seq as number, v.body);
          return { seq: Number(row.seq), duplicate: false };
        }
        const existing = find.get(v.resourceType, v.resourceId, v.versionId, v.contentHash) as Row;
        return { seq: Number(existing.seq), duplicate: true };
      });
    });
  }

  /**
   * Record leases live in memory: one process owns the file and `recoverLeases` drops every lease
   * at start anyway, so a claim costs a read, not a write of every claimed row.
   */
  readonly #leases = new Map<number, number>();

  /** Up to `limit` seqs in `state` (oldest first) whose lease expired; leases them. */
  #claimSeqs(state: 'received' | 'stored', limit: number, leaseMs: number, now: number): number[] {
    const candidates = this.#stmt(`SELECT seq FROM records WHERE state = ? ORDER BY seq LIMIT ?`).all(
      state,
      limit + this.#leases.size,
    ) as Row[];
    const out: number[] = [];
    for (const r of candidates) {
      const seq = Number(r.seq);
      if ((this.#leases.get(seq) ?? 0) >= now) continue;
      out.push(seq);
      if (out.length === limit) break;
    }
    for (const seq of out) this.#leases.set(seq, now + leaseMs);
    return out;
  }

  #unlease(seqs: Iterable<number>): void {
    for (const seq of seqs) this.#leases.delete(seq);
  }

  async claimReceived(limit: number, leaseMs: number, now = Date.now()): Promise<ReceivedRecord[]> {
    const seqs = this.#claimSeqs('received', limit, leaseMs, now);
    if (seqs.length === 0) return [];
    const wanted = new Set(seqs);
    const rows = this.#all(
      `SELECT r.seq, r.source, r.resource_type, r.resource_key, r.resource_ref, r.version_id, r.content_hash, r.subject, r.deleted, b.body
       FROM records r JOIN bodies b ON b.seq = r.seq WHERE r.seq BETWEEN ? AND ? AND r.state = 'received' ORDER BY r.seq`,
      seqs[0]!,
      seqs[seqs.length - 1]!,
    ).filter((r) => wanted.has(Number(r.seq)));
    return rows
      .map((r) => ({
        seq: Number(r.seq),
        source: String(r.source),
        resourceType: String(r.resource_type),
        resourceId: String(r.resource_key),
        versionId: String(r.version_id),
        contentHash: String(r.content_hash),
        subject: String(r.subject),
        deleted: Number(r.deleted) === 1,
        body: r.body as Uint8Array,
        resourceRef: (r.resource_ref as Uint8Array | null) ?? null,
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async markStored(updates: StoredUpdate[], now = Date.now()): Promise<number> {
    return this.#tx(() => {
      const update = this.#stmt(
        `UPDATE records SET state = 'stored', cid = ?, salt = ?, leaf = ?, key_id = ?, stored_at = ?, lease_until = 0
         WHERE seq = ? AND state = 'received'`,
      );
      const drop = this.#stmt('DELETE FROM bodies WHERE seq = ?');
      let changed = 0;
      for (const u of updates) {
        const n = Number(update.run(u.cid, u.salt, u.leaf, u.keyId, now, u.seq).changes);
        if (n) drop.run(u.seq);
        changed += n;
      }
      this.#unlease(updates.map((u) => u.seq));
      return changed;
    });
  }

  async release(seqs: number[]): Promise<void> {
    this.#unlease(seqs);
  }

  async stored(): Promise<{ count: number; oldestReceivedAt: number | null; openBatches: number }> {
    const row = this.#stmt(
      `SELECT count(*) AS n, min(received_at) AS oldest,
         (SELECT count(*) FROM batches WHERE state IN ('pending','sent')) AS open FROM records WHERE state = 'stored'`,
    ).get() as Row;
    return {
      count: Number(row.n),
      oldestReceivedAt: row.oldest === null ? null : Number(row.oldest),
      openBatches: Number(row.open),
    };
  }

  async claimStored(limit: number, leaseMs: number, now = Date.now()): Promise<StoredRecord[]> {
    const seqs = this.#claimSeqs('stored', limit, leaseMs, now);
    if (seqs.length === 0) return [];
    const wanted = new Set(seqs);
    return this.#all(
      `SELECT seq, leaf, cid FROM records WHERE seq BETWEEN ? AND ? AND state = 'stored' ORDER BY seq`,
      seqs[0]!,
      seqs[seqs.length - 1]!,
    )
      .filter((r) => wanted.has(Number(r.seq)))
      .map((r) => ({ seq: Number(r.seq), leaf: String(r.leaf), cid: String(r.cid) }));
  }

  async createBatch(draft: BatchDraft, now = Date.now()): Promise<number> {
    return this.#tx(() => {
      const batch = this.#stmt(
        `INSERT INTO batches (state, root, manifest_cid, count, created_at) VALUES ('pending', ?, ?, ?, ?) RETURNING id`,
      ).get(draft.root, draft.manifestCid, draft.members.length, now) as Row;
      const id = Number(batch.id);
      const member = this.#stmt(
        `UPDATE records SET state = 'batched', batch_id = ?, proof = ?, lease_until = 0 WHERE seq = ? AND state = 'stored'`,
      );
      for (const m of draft.members) {
        if (Number(member.run(id, encodeProof(m.proof), m.seq).changes) !== 1) {
          throw new Error(`record ${m.seq} is no longer stored; batch abandoned`);
        }
      }
      this.#unlease(draft.members.map((m) => m.seq));
      return id;
    });
  }

  async claimBatch(leaseMs: number, now = Date.now()): Promise<BatchRow | undefined> {
    return this.#tx(() => {
      const row = this.#stmt(
        `SELECT ${BATCH_COLUMNS} FROM batches WHERE state IN ('pending','sent') AND lease_until < ? ORDER BY id LIMIT 1`,
      ).get(now) as Row | undefined;
      if (!row) return undefined;
      this.#stmt('UPDATE batches SET lease_until = ? WHERE id = ?').run(now + leaseMs, row.id as number);
      return toBatchRow(row);
    });
  }

  async markBatchSent(id: number, tx: { hash: string; raw: string; nonce: number }): Promise<void> {
    this.#stmt(
      `UPDATE batches SET state = 'sent', tx_hash = ?, raw_tx = ?, nonce = ?, attempts = attempts + 1 WHERE id = ? AND state IN ('pending','sent')`,
    ).run(tx.hash, tx.raw, tx.nonce, id);
  }

  async batchFailed(id: number, error: string, retryInMs: number, now = Date.now()): Promise<void> {
    this.#stmt('UPDATE batches SET last_error = ?, lease_until = ? WHERE id = ?').run(
      error.slice(0, 500),
      now + retryInMs,
      id,
    );
  }

  async markBatchAnchored(id: number, blockNumber: number, now = Date.now()): Promise<void> {
    this.#tx(() => {
      this.#stmt(
        `UPDATE batches SET state = 'anchored', block_number = ?, anchored_at = ?, lease_until = 0, last_error = NULL WHERE id = ?`,
      ).run(blockNumber, now, id);
      this.#stmt(
        `UPDATE records SET state = 'anchored', anchored_at = ? WHERE batch_id = ? AND state = 'batched'`,
      ).run(now, id);
    });
  }

  async getBatch(id: number): Promise<BatchRow | undefined> {
    const row = this.#stmt(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = ?`).get(id) as Row | undefined;
    return row ? toBatchRow(row) : undefined;
  }

  async listBatches(limit: number, beforeId = Number.MAX_SAFE_INTEGER): Promise<BatchRow[]> {
    return this.#all(
      `SELECT ${BATCH_COLUMNS} FROM batches WHERE id < ? ORDER BY id DESC LIMIT ?`,
      beforeId,
      limit,
    ).map(toBatchRow);
  }

  async versions(resourceType: string, resourceId: string): Promise<RecordInfo[]> {
    return this.#all(
      `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE resource_type = ? AND resource_key = ? ORDER BY seq DESC`,
      resourceType,
      resourceId,
    ).map(toRecordInfo);
  }

  async bySubject(subject: string, limit: number, afterSeq = 0): Promise<RecordInfo[]> {
    return this.#all(
      `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE subject = ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
      subject,
      afterSeq,
      limit,
    ).map(toRecordInfo);
  }

  async bySeq(seqs: number[]): Promise<RecordInfo[]> {
    if (seqs.length === 0) return [];
    // One range read (callers ask for runs of consecutive seqs), answered in the order asked.
    let lo = seqs[0]!;
    let hi = lo;
    for (const s of seqs) {
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    if (hi - lo > 4 * seqs.length + 100) {
      const stmt = this.#stmt(`SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE seq = ?`);
      return seqs.flatMap((s) => {
        const row = stmt.get(s) as Row | undefined;
        return row ? [toRecordInfo(row)] : [];
      });
    }
    const rows = new Map<number, Row>();
    for (const r of this.#all(`SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE seq BETWEEN ? AND ?`, lo, hi))
      rows.set(Number(r.seq), r);
    return seqs.flatMap((s) => {
      const row = rows.get(s);
      return row ? [toRecordInfo(row)] : [];
    });
  }

  async counts(now = Date.now()): Promise<OutboxCounts> {
    const out = { ...emptyCounts(), lagMs: 0 };
    // Records not yet anchored are few (the backlog): counted on the state index. Anchored ones are
    // summed from their batches (a batch and its records turn anchored in one transaction), so a
    // status probe does not scan every record ever anchored.
    const pendingStates = this.#stmt('SELECT count(*) AS n FROM records WHERE state = ?');
    for (const state of ['received', 'stored', 'batched'] as const)
      out.records[state] = Number((pendingStates.get(state) as Row).n);
    for (const r of this.#all(
      'SELECT state, count(*) AS n, coalesce(sum(count), 0) AS records FROM batches GROUP BY state',
    )) {
      out.batches[r.state as keyof typeof out.batches] = Number(r.n);
      if (r.state === 'anchored') out.records.anchored = Number(r.records);
    }
    const oldest = this.#stmt(
      `SELECT min(received_at) AS t FROM (
         SELECT received_at FROM (SELECT received_at FROM records WHERE state = 'received' ORDER BY seq LIMIT 1)
         UNION ALL SELECT received_at FROM (SELECT received_at FROM records WHERE state = 'stored' ORDER BY seq LIMIT 1)
         UNION ALL SELECT received_at FROM (SELECT received_at FROM records WHERE state = 'batched' ORDER BY seq LIMIT 1))`,
    ).get() as Row;
    out.lagMs = oldest.t === null ? 0 : Math.max(0, now - Number(oldest.t));
    return out;
  }

  async pendingProvenance(source: string, limit: number, now = Date.now()): Promise<RecordInfo[]> {
    return this.#all(
      `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE state = 'anchored' AND source = ? AND provenance IS NULL AND provenance_retry_at <= ? ORDER BY seq LIMIT ?`,
      source,
      now,
      limit,
    ).map(toRecordInfo);
  }

  async setProvenance(seq: number, status: string): Promise<void> {
    this.#stmt('UPDATE records SET provenance = ? WHERE seq = ?').run(status.slice(0, 300), seq);
  }

  async provenanceFailed(seq: number, error: string, retryAt: number, dead: boolean): Promise<void> {
    this.#stmt(
      'UPDATE records SET provenance_attempts = provenance_attempts + 1, provenance_retry_at = ?, provenance = ? WHERE seq = ?',
    ).run(retryAt, dead ? `dead:${error}`.slice(0, 300) : null, seq);
  }

  async deadLetters(): Promise<{ provenance: number }> {
    const row = this.#stmt(`SELECT count(*) AS n FROM records WHERE provenance LIKE 'dead:%'`).get() as Row;
    return { provenance: Number(row.n) };
  }

  async retryDeadLetters(): Promise<{ provenance: number }> {
    const result = this.#stmt(
      `UPDATE records SET provenance = NULL, provenance_attempts = 0, provenance_retry_at = 0 WHERE provenance LIKE 'dead:%'`,
    ).run();
    return { provenance: Number(result.changes) };
  }

  async legacyRecords(limit: number): Promise<LegacyRecord[]> {
    return this.#all(
      `SELECT r.seq, r.resource_type, r.resource_key, r.version_id, r.content_hash, b.body
       FROM records r LEFT JOIN bodies b ON b.seq = r.seq WHERE r.resource_ref IS NULL ORDER BY r.seq LIMIT ?`,
      limit,
    ).map(toLegacyRecord);
  }

  async rewriteRecords(rows: LegacyRecord[]): Promise<void> {
    this.#tx(() => {
      const ids = this.#stmt('UPDATE records SET resource_key = ?, resource_ref = ? WHERE seq = ?');
      const body = this.#stmt('UPDATE bodies SET body = ? WHERE seq = ?');
      for (const r of rows) {
        ids.run(r.resourceKey!, r.resourceRef!, r.seq);
        if (r.body) body.run(r.body, r.seq);
      }
    });
  }

  async scrub(): Promise<void> {
    // secure_delete zeroes freed cells; VACUUM rewrites the file without the old pages, and the WAL
    // (which held the old page images) is checkpointed and truncated.
    this.#stmts.clear();
    this.#db.exec('VACUUM');
    this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  async getState(key: string): Promise<string | undefined> {
    const row = this.#stmt('SELECT value FROM bridge_state WHERE key = ?').get(key) as Row | undefined;
    return row ? String(row.value) : undefined;
  }

  async setState(key: string, value: string): Promise<void> {
    this.#stmt(
      'INSERT INTO bridge_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }
}
