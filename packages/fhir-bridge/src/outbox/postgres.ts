/**
 * The scale-out outbox: the same interface on PostgreSQL, so several bridge workers share one
 * queue. Claims use `FOR UPDATE SKIP LOCKED` inside a short transaction that stamps a lease, so
 * workers never wait on each other and a crashed worker's rows come back when its lease expires.
 */
import pg from 'pg';
import {
  BATCH_COLUMNS,
  DEAD_LETTER_INDEX,
  RECORD_INFO_COLUMNS,
  emptyCounts,
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

// BIGINT columns hold millisecond timestamps and sequence numbers, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export class PostgresOutbox implements Outbox {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

  constructor(url: string, poolSize = 5) {
    this.#pool = new pg.Pool({ connectionString: url, max: poolSize });
    // An idle client's error (e.g. the server restarting) must not crash the bridge.
    this.#pool.on('error', () => undefined);
  }

  async #q(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, params)).rows as Row[];
  }

  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async init(): Promise<void> {
    await this.#tx(async (c) => {
      // Serialize concurrent migrations of several workers starting at once.
      await c.query('SELECT pg_advisory_xact_lock(7411)');
      const { rows } = await c.query(
        `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'records' AND column_name = 'resource_id'`,
      );
      if (rows.length) {
        // Schema 1: its ids and bodies are sealed by SealedOutbox.init (legacyRecords/rewriteRecords).
        for (const sql of legacyColumnsSql({ blob: 'BYTEA', bigint: 'BIGINT' })) await c.query(sql);
      }
      for (const sql of schemaSql({ serial: 'BIGSERIAL PRIMARY KEY', blob: 'BYTEA', bigint: 'BIGINT' })) {
        await c.query(sql);
      }
      await c.query(DEAD_LETTER_INDEX);
    });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async ping(): Promise<void> {
    await this.#q('SELECT 1');
  }

  async recoverLeases(): Promise<void> {
    // Other workers may hold live leases on a shared queue: leave them to expire.
  }

  async enqueue(versions: IncomingVersion[], now = Date.now()): Promise<EnqueueResult[]> {
    if (versions.length === 0) return [];
    return this.#tx(async (c) => {
      const cols = {
        source: [] as string[],
        type: [] as string[],
        id: [] as string[],
        vid: [] as string[],
        hash: [] as string[],
        subject: [] as string[],
        deleted: [] as number[],
        body: [] as Buffer[],
        ref: [] as (Buffer | null)[],
      };
      for (const v of versions) {
        cols.source.push(v.source);
        cols.type.push(v.resourceType);
        cols.id.push(v.resourceId);
        cols.vid.push(v.versionId);
        cols.hash.push(v.contentHash);
        cols.subject.push(v.subject);
        cols.deleted.push(v.deleted ? 1 : 0);
        cols.body.push(Buffer.from(v.body.buffer, v.body.byteOffset, v.body.byteLength));
        cols.ref.push(v.resourceRef ? Buffer.from(v.resourceRef) : null);
      }
      const inserted = await c.query(
        `INSERT INTO records (source, resource_type, resource_key, version_id, content_hash, subject, deleted, body, resource_ref, received_at)
         SELECT s, t, i, v, h, sub, d, b, ref, $10 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bytea[], $9::bytea[])
           AS u(s, t, i, v, h, sub, d, b, ref)
         ON CONFLICT DO NOTHING
         RETURNING seq, resource_type, resource_key, version_id, content_hash`,
        [
          cols.source,
          cols.type,
          cols.id,
          cols.vid,
          cols.hash,
          cols.subject,
          cols.deleted,
          cols.body,
          cols.ref,
          now,
        ],
      );
      const keyOf = (r: Row) =>
        `${r.resource_type}\u0000${r.resource_key}\u0000${r.version_id}\u0000${r.content_hash}`;
      const byKey = new Map<string, { seq: number; fresh: boolean }>();
      for (const r of inserted.rows as Row[]) byKey.set(keyOf(r), { seq: Number(r.seq), fresh: true });
      if (byKey.size < versions.length) {
        const { rows } = await c.query(
          `SELECT r.seq, r.resource_type, r.resource_key, r.version_id, r.content_hash
           FROM records r JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, i, v, h)
             ON r.resource_type = u.t AND r.resource_key = u.i AND r.version_id = u.v AND r.content_hash = u.h`,
          [cols.type, cols.id, cols.vid, cols.hash],
        );
        for (const r of rows as Row[])
          if (!byKey.has(keyOf(r))) byKey.set(keyOf(r), { seq: Number(r.seq), fresh: false });
      }
      const seen = new Set<string>();
      return versions.map((v) => {
        const key = keyOf({
          resource_type: v.resourceType,
          resource_key: v.resourceId,
          version_id: v.versionId,
          content_hash: v.contentHash,
        });
        const hit = byKey.get(key)!;
        const duplicate = !hit.fresh || seen.has(key);
        seen.add(key);
        return { seq: hit.seq, duplicate };
      });
    });
  }

  async claimReceived(limit: number, leaseMs: number, now = Date.now()): Promise<ReceivedRecord[]> {
    const rows = await this.#q(
      `UPDATE records SET lease_until = $3 WHERE seq IN (
         SELECT seq FROM records WHERE state = 'received' AND lease_until < $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING seq, source, resource_type, resource_key, resource_ref, version_id, content_hash, subject, deleted, body`,
      [now, limit, now + leaseMs],
    );
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
        body: new Uint8Array(r.body as Buffer),
        resourceRef: r.resource_ref ? new Uint8Array(r.resource_ref as Buffer) : null,
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async markStored(updates: StoredUpdate[], now = Date.now()): Promise<number> {
    if (updates.length === 0) return 0;
    const rows = await this.#q(
      `UPDATE records r SET state = 'stored', cid = u.cid, salt = u.salt, leaf = u.leaf, key_id = u.kid, stored_at = $6, body = NULL, lease_until = 0
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(seq, cid, salt, leaf, kid)
       WHERE r.seq = u.seq AND r.state = 'received' RETURNING r.seq`,
      [
        updates.map((u) => u.seq),
        updates.map((u) => u.cid),
        updates.map((u) => u.salt),
        updates.map((u) => u.leaf),
        updates.map((u) => u.keyId),
        now,
      ],
    );
    return rows.length;
  }

  async release(seqs: number[]): Promise<void> {
    await this.#q('UPDATE records SET lease_until = 0 WHERE seq = ANY($1::bigint[])', [seqs]);
  }

  async stored(): Promise<{ count: number; oldestReceivedAt: number | null; openBatches: number }> {
    const [row] = await this.#q(
      `SELECT count(*) AS n, min(received_at) AS oldest,
         (SELECT count(*) FROM batches WHERE state IN ('pending','sent')) AS open FROM records WHERE state = 'stored'`,
    );
    return {
      count: Number(row!.n),
      oldestReceivedAt: row!.oldest === null ? null : Number(row!.oldest),
      openBatches: Number(row!.open),
    };
  }

  async claimStored(limit: number, leaseMs: number, now = Date.now()): Promise<StoredRecord[]> {
    const rows = await this.#q(
      `UPDATE records SET lease_until = $3 WHERE seq IN (
         SELECT seq FROM records WHERE state = 'stored' AND lease_until < $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING seq, leaf, cid`,
      [now, limit, now + leaseMs],
    );
    return rows
      .map((r) => ({ seq: Number(r.seq), leaf: String(r.leaf), cid: String(r.cid) }))
      .sort((a, b) => a.seq - b.seq);
  }

  async createBatch(draft: BatchDraft, now = Date.now()): Promise<number> {
    return this.#tx(async (c) => {
      const { rows } = await c.query(
        `INSERT INTO batches (state, root, manifest_cid, count, created_at) VALUES ('pending', $1, $2, $3, $4) RETURNING id`,
        [draft.root, draft.manifestCid, draft.members.length, now],
      );
      const id = Number((rows[0] as Row).id);
      const updated = await c.query(
        `UPDATE records r SET state = 'batched', batch_id = $1, proof = u.proof, lease_until = 0
         FROM unnest($2::bigint[], $3::text[]) AS u(seq, proof)
         WHERE r.seq = u.seq AND r.state = 'stored'`,
        [id, draft.members.map((m) => m.seq), draft.members.map((m) => JSON.stringify(m.proof))],
      );
      if (updated.rowCount !== draft.members.length)
        throw new Error('some records are no longer stored; batch abandoned');
      return id;
    });
  }

  async claimBatch(leaseMs: number, now = Date.now()): Promise<BatchRow | undefined> {
    const rows = await this.#q(
      `UPDATE batches SET lease_until = $2 WHERE id = (
         SELECT id FROM batches WHERE state IN ('pending','sent') AND lease_until < $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING ${BATCH_COLUMNS}`,
      [now, now + leaseMs],
    );
    return rows[0] ? toBatchRow(rows[0]) : undefined;
  }

  async markBatchSent(id: number, tx: { hash: string; raw: string; nonce: number }): Promise<void> {
    await this.#q(
      `UPDATE batches SET state = 'sent', tx_hash = $1, raw_tx = $2, nonce = $3, attempts = attempts + 1 WHERE id = $4 AND state IN ('pending','sent')`,
      [tx.hash, tx.raw, tx.nonce, id],
    );
  }

  async batchFailed(id: number, error: string, retryInMs: number, now = Date.now()): Promise<void> {
    await this.#q('UPDATE batches SET last_error = $1, lease_until = $2 WHERE id = $3', [
      error.slice(0, 500),
      now + retryInMs,
      id,
    ]);
  }

  async markBatchAnchored(id: number, blockNumber: number, now = Date.now()): Promise<void> {
    await this.#tx(async (c) => {
      await c.query(
        `UPDATE batches SET state = 'anchored', block_number = $1, anchored_at = $2, lease_until = 0, last_error = NULL WHERE id = $3`,
        [blockNumber, now, id],
      );
      await c.query(
        `UPDATE records SET state = 'anchored', anchored_at = $1 WHERE batch_id = $2 AND state = 'batched'`,
        [now, id],
      );
    });
  }

  async getBatch(id: number): Promise<BatchRow | undefined> {
    const rows = await this.#q(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1`, [id]);
    return rows[0] ? toBatchRow(rows[0]) : undefined;
  }

  async listBatches(limit: number, beforeId = Number.MAX_SAFE_INTEGER): Promise<BatchRow[]> {
    return (
      await this.#q(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id < $1 ORDER BY id DESC LIMIT $2`, [
        beforeId,
        limit,
      ])
    ).map(toBatchRow);
  }

  async versions(resourceType: string, resourceId: string): Promise<RecordInfo[]> {
    return (
      await this.#q(
        `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE resource_type = $1 AND resource_key = $2 ORDER BY seq DESC`,
        [resourceType, resourceId],
      )
    ).map(toRecordInfo);
  }

  async bySubject(subject: string, limit: number, afterSeq = 0): Promise<RecordInfo[]> {
    return (
      await this.#q(
        `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE subject = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3`,
        [subject, afterSeq, limit],
      )
    ).map(toRecordInfo);
  }

  async bySeq(seqs: number[]): Promise<RecordInfo[]> {
    return (
      await this.#q(`SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE seq = ANY($1::bigint[]) ORDER BY seq`, [
        seqs,
      ])
    ).map(toRecordInfo);
  }

  async counts(now = Date.now()): Promise<OutboxCounts> {
    const out = { ...emptyCounts(), lagMs: 0 };
    // As in the SQLite outbox: the backlog counted on the state index, anchored records summed from their batches.
    for (const r of await this.#q(
      `SELECT state, count(*) AS n FROM records WHERE state IN ('received','stored','batched') GROUP BY state`,
    )) {
      out.records[r.state as keyof typeof out.records] = Number(r.n);
    }
    for (const r of await this.#q(
      'SELECT state, count(*) AS n, coalesce(sum(count), 0) AS records FROM batches GROUP BY state',
    )) {
      out.batches[r.state as keyof typeof out.batches] = Number(r.n);
      if (r.state === 'anchored') out.records.anchored = Number(r.records);
    }
    const [oldest] = await this.#q(
      `SELECT min(t) AS t FROM (
         (SELECT received_at AS t FROM records WHERE state = 'received' ORDER BY seq LIMIT 1)
         UNION ALL (SELECT received_at FROM records WHERE state = 'stored' ORDER BY seq LIMIT 1)
         UNION ALL (SELECT received_at FROM records WHERE state = 'batched' ORDER BY seq LIMIT 1)) o`,
    );
    out.lagMs = oldest!.t === null ? 0 : Math.max(0, now - Number(oldest!.t));
    return out;
  }

  async pendingProvenance(source: string, limit: number, now = Date.now()): Promise<RecordInfo[]> {
    return (
      await this.#q(
        `SELECT ${RECORD_INFO_COLUMNS} FROM records WHERE state = 'anchored' AND source = $1 AND provenance IS NULL AND provenance_retry_at <= $2 ORDER BY seq LIMIT $3`,
        [source, now, limit],
      )
    ).map(toRecordInfo);
  }

  async setProvenance(seq: number, status: string): Promise<void> {
    await this.#q('UPDATE records SET provenance = $1 WHERE seq = $2', [status.slice(0, 300), seq]);
  }

  async provenanceFailed(seq: number, error: string, retryAt: number, dead: boolean): Promise<void> {
    await this.#q(
      'UPDATE records SET provenance_attempts = provenance_attempts + 1, provenance_retry_at = $1, provenance = $2 WHERE seq = $3',
      [retryAt, dead ? `dead:${error}`.slice(0, 300) : null, seq],
    );
  }

  async deadLetters(): Promise<{ provenance: number }> {
    const [row] = await this.#q(`SELECT count(*) AS n FROM records WHERE provenance LIKE 'dead:%'`);
    return { provenance: Number(row!.n) };
  }

  async retryDeadLetters(): Promise<{ provenance: number }> {
    const rows = await this.#q(
      `UPDATE records SET provenance = NULL, provenance_attempts = 0, provenance_retry_at = 0 WHERE provenance LIKE 'dead:%' RETURNING seq`,
    );
    return { provenance: rows.length };
  }

  async legacyRecords(limit: number): Promise<LegacyRecord[]> {
    return (
      await this.#q(
        `SELECT seq, resource_type, resource_key, version_id, content_hash, body FROM records WHERE resource_ref IS NULL ORDER BY seq LIMIT $1`,
        [limit],
      )
    ).map(toLegacyRecord);
  }

  async rewriteRecords(rows: LegacyRecord[]): Promise<void> {
    await this.#tx(async (c) => {
      for (const r of rows)
        await c.query(
          'UPDATE records SET resource_key = $1, resource_ref = $2, body = COALESCE($3, body) WHERE seq = $4',
          [r.resourceKey, Buffer.from(r.resourceRef!), r.body ? Buffer.from(r.body) : null, r.seq],
        );
    });
  }

  async scrub(): Promise<void> {
    // Rewrites the table without the dead row versions that held plaintext ids (a one-time lock).
    await this.#q('VACUUM FULL records');
    // The planner's statistics of schema 1 keep sample values of its columns — plaintext ids and
    // body bytes — in pg_statistic: ANALYZE replaces them with samples of the keyed/sealed columns,
    // and VACUUM FULL rewrites pg_statistic without the replaced rows (allowed to the database owner).
    await this.#q('ANALYZE records');
    try {
      await this.#q('VACUUM FULL pg_statistic');
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
      throw new Error(
        "the outbox migration must rewrite the database's statistics (VACUUM FULL pg_statistic), which only the database owner or a superuser may do: start the bridge once as the owner of its database (the migration finishes then)",
      );
    }
  }

  async getState(key: string): Promise<string | undefined> {
    const rows = await this.#q('SELECT value FROM bridge_state WHERE key = $1', [key]);
    return rows[0] ? String(rows[0].value) : undefined;
  }

  async setState(key: string, value: string): Promise<void> {
    await this.#q(
      'INSERT INTO bridge_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }
}
