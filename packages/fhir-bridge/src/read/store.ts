/**
 * The read side's own small database (node:sqlite, WAL): the blind patient search index, the
 * access log index, the consent mirror, erasure requests and the wrapped keys of document content.
 *
 * Nothing in it is PHI in clear: search terms are stored as keyed hashes (HMAC under a key
 * derived from the hospital's pseudonym key), patients appear only as pseudonymous subjects,
 * resources only as outbox sequence numbers, and document keys only wrapped to the hospital key.
 * Deleting a row of `doc_keys` crypto-shreds a document's content wherever its ciphertext lives.
 *
 * It is per bridge process; a PostgreSQL-scaled deployment runs the read API on one replica (or
 * points every replica at the same file on shared storage). See the bridge README.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface AuditRow {
  id: string;
  subject: string;
  recorded: number;
  actor: string | null;
  role: string;
  action: string;
  outcome: 'allowed' | 'denied';
  entity: string | null;
  auditSeq: number | null;
}

export interface ConsentRow {
  patient: string;
  grantee: string;
  scope: number;
  expiresAt: string;
  status: 'active' | 'inactive';
  blockNumber: number;
  txHash: string;
  version: number;
  /** JSON of the FHIR Consent resource (references the patient by pseudonymous subject only). */
  resource: string;
  /** Id on the FHIR server after write-back. */
  serverId: string | null;
}

export interface ErasureRow {
  id: number;
  seq: number;
  subject: string;
  state: 'pending' | 'approved' | 'rejected';
  requestedBy: string;
  requestedAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
}

type Row = Record<string, unknown>;

export class ReadStore {
  readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS patient_terms (term TEXT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (term, subject));
      CREATE TABLE IF NOT EXISTS patient_latest (subject TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS audit (
        id TEXT PRIMARY KEY, subject TEXT NOT NULL, recorded INTEGER NOT NULL, actor TEXT, role TEXT NOT NULL,
        action TEXT NOT NULL, outcome TEXT NOT NULL, entity TEXT, audit_seq INTEGER);
      CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, recorded);
      CREATE TABLE IF NOT EXISTS consents (
        patient TEXT NOT NULL, grantee TEXT NOT NULL, scope INTEGER NOT NULL, expires_at TEXT NOT NULL,
        status TEXT NOT NULL, block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL, version INTEGER NOT NULL,
        resource TEXT NOT NULL, server_id TEXT, written_version INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (patient, grantee));
      CREATE TABLE IF NOT EXISTS consent_writes (
        patient TEXT NOT NULL, grantee TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        retry_at INTEGER NOT NULL DEFAULT 0, dead TEXT, PRIMARY KEY (patient, grantee));
      CREATE TABLE IF NOT EXISTS doc_keys (doc_id TEXT PRIMARY KEY, envelope BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS erasures (
        id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,
        requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, decided_by TEXT, decided_at INTEGER);
      CREATE TABLE IF NOT EXISTS record_dates (seq INTEGER PRIMARY KEY, date INTEGER);
      CREATE TABLE IF NOT EXISTS erased (seq INTEGER PRIMARY KEY, erasure_id INTEGER NOT NULL, erased_at INTEGER NOT NULL);
    `);
  }

  close(): void {
    this.db.close();
  }

  get(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as Row | undefined;
    return row ? String(row.value) : undefined;
  }
  set(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  // ── patient index (terms are keyed hashes) ──
  indexPatient(subject: string, seq: number, terms: string[]): void {
    this.db.exec('BEGIN');
    try {
      const latest = this.db.prepare('SELECT seq FROM patient_latest WHERE subject = ?').get(subject) as
        Row | undefined;
      if (latest && Number(latest.seq) > seq) {
        this.db.exec('COMMIT');
        return;
      }
      // A newer Patient version replaces the terms (an old name stops matching).
      this.db.prepare('DELETE FROM patient_terms WHERE subject = ?').run(subject);
      const insert = this.db.prepare('INSERT OR IGNORE INTO patient_terms (term, subject) VALUES (?, ?)');
      for (const t of terms) insert.run(t, subject);
      this.db
        .prepare(
          'INSERT INTO patient_latest (subject, seq) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET seq = excluded.seq',
        )
        .run(subject, seq);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Subjects matching every term group (AND across groups, OR inside one). */
  searchPatients(groups: string[][]): string[] {
    let result: Set<string> | undefined;
    const q = this.db.prepare('SELECT subject FROM patient_terms WHERE term = ?');
    for (const group of groups) {
      const hits = new Set<string>();
      for (const term of group) for (const r of q.all(term) as Row[]) hits.add(String(r.subject));
      result = result ? new Set([...result].filter((s) => hits.has(s))) : hits;
    }
    return [...(result ?? [])].sort();
  }

  latestPatientSeq(subject: string): number | undefined {
    const row = this.db.prepare('SELECT seq FROM patient_latest WHERE subject = ?').get(subject) as
      Row | undefined;
    return row ? Number(row.seq) : undefined;
  }

  // ── clinical dates (epoch ms, null when the resource has none), cached once a record was read ──
  setRecordDate(seq: number, date: number | null): void {
    this.db.prepare('INSERT OR REPLACE INTO record_dates (seq, date) VALUES (?, ?)').run(seq, date);
  }
  recordDates(seqs: number[]): Map<number, number | null> {
    const out = new Map<number, number | null>();
    for (let i = 0; i < seqs.length; i += 500) {
      const part = seqs.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT seq, date FROM record_dates WHERE seq IN (${part.map(() => '?').join(',')})`)
        .all(...part) as Row[];
      for (const r of rows) out.set(Number(r.seq), r.date === null ? null : Number(r.date));
    }
    return out;
  }

  // ── audit ──
  addAudit(row: AuditRow): void {
    this.db
      .prepare(
        'INSERT INTO audit (id, subject, recorded, actor, role, action, outcome, entity, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        row.id,
        row.subject,
        row.recorded,
        row.actor,
        row.role,
        row.action,
        row.outcome,
        row.entity,
        row.auditSeq,
      );
  }
  auditOf(subject: string, limit: number): AuditRow[] {
    return (
      this.db
        .prepare('SELECT * FROM audit WHERE subject = ? ORDER BY recorded DESC, rowid DESC LIMIT ?')
        .all(subject, limit) as Row[]
    ).map(toAudit);
  }
  /**
   * One page of a patient's access log, newest first. `before` is the `next` cursor of the page
   * before it (`<recorded>-<rowid>` of its last row), so pages neither skip nor repeat a row when
   * new reads are logged meanwhile (they land before the first page).
   */
  auditPage(subject: string, limit: number, before?: string): { rows: AuditRow[]; next?: string } {
    const cursor = before ? /^(\d+)-(\d+)$/.exec(before) : null;
    const list = (
      cursor
        ? this.db
            .prepare(
              'SELECT rowid AS row_id, * FROM audit WHERE subject = ? AND (recorded < ? OR (recorded = ? AND rowid < ?)) ORDER BY recorded DESC, rowid DESC LIMIT ?',
            )
            .all(subject, Number(cursor[1]), Number(cursor[1]), Number(cursor[2]), limit + 1)
        : this.db
            .prepare(
              'SELECT rowid AS row_id, * FROM audit WHERE subject = ? ORDER BY recorded DESC, rowid DESC LIMIT ?',
            )
            .all(subject, limit + 1)
    ) as Row[];
    const page = list.slice(0, limit);
    const last = page.at(-1);
    return {
      rows: page.map(toAudit),
      ...(list.length > limit && last ? { next: `${Number(last.recorded)}-${Number(last.row_id)}` } : {}),
    };
  }
  /** The access-log row of the AuditEvent queued as outbox record `seq`. */
  auditByEventSeq(seq: number): AuditRow | undefined {
    const r = this.db.prepare('SELECT * FROM audit WHERE audit_seq = ?').get(seq) as Row | undefined;
    return r ? toAudit(r) : undefined;
  }
  /** Drops a subject from the search index (its Patient record was erased). */
  removePatient(subject: string): void {
    this.db.prepare('DELETE FROM patient_terms WHERE subject = ?').run(subject);
    this.db.prepare('DELETE FROM patient_latest WHERE subject = ?').run(subject);
  }
  auditCount(): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM audit').get() as Row).n);
  }
  allAudit(): AuditRow[] {
    return (this.db.prepare('SELECT * FROM audit ORDER BY rowid').all() as Row[]).map(toAudit);
  }

  // ── consent mirror ──
  upsertConsent(row: Omit<ConsentRow, 'serverId'>): void {
    this.db
      .prepare(
        `INSERT INTO consents (patient, grantee, scope, expires_at, status, block_number, tx_hash, version, resource)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (patient, grantee) DO UPDATE SET scope = excluded.scope, expires_at = excluded.expires_at,
           status = excluded.status, block_number = excluded.block_number, tx_hash = excluded.tx_hash,
           version = excluded.version, resource = excluded.resource`,
      )
      .run(
        row.patient,
        row.grantee,
        row.scope,
        row.expiresAt,
        row.status,
        row.blockNumber,
        row.txHash,
        row.version,
        row.resource,
      );
  }
  consent(patient: string, grantee: string): ConsentRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM consents WHERE patient = ? AND grantee = ?')
      .get(patient, grantee) as Row | undefined;
    return r ? toConsent(r) : undefined;
  }
  consentsOf(patient: string): ConsentRow[] {
    return (
      this.db.prepare('SELECT * FROM consents WHERE patient = ? ORDER BY block_number').all(patient) as Row[]
    ).map(toConsent);
  }
  /** Consents whose newest version is not yet on the FHIR server, due now (not backing off, not dead letters). */
  consentsToWrite(now = Date.now()): (ConsentRow & { attempts: number })[] {
    return (
      this.db
        .prepare(
          `SELECT c.*, coalesce(w.attempts, 0) AS attempts FROM consents c LEFT JOIN consent_writes w
             ON w.patient = c.patient AND w.grantee = c.grantee
           WHERE c.written_version < c.version AND w.dead IS NULL AND coalesce(w.retry_at, 0) <= ?`,
        )
        .all(now) as Row[]
    ).map((r) => ({ ...toConsent(r), attempts: Number(r.attempts) }));
  }
  /** A failed write-back of a consent: retried from `retryAt`, or a dead letter (`dead`). */
  consentWriteFailed(patient: string, grantee: string, error: string, retryAt: number, dead: boolean): void {
    this.db
      .prepare(
        `INSERT INTO consent_writes (patient, grantee, attempts, retry_at, dead) VALUES (?, ?, 1, ?, ?)
         ON CONFLICT (patient, grantee) DO UPDATE SET attempts = attempts + 1, retry_at = excluded.retry_at, dead = excluded.dead`,
      )
      .run(patient, grantee, retryAt, dead ? error.slice(0, 300) : null);
  }
  /** Dead letters of the consent write-back. */
  consentDeadLetters(): number {
    return Number(
      (this.db.prepare('SELECT count(*) AS n FROM consent_writes WHERE dead IS NOT NULL').get() as Row).n,
    );
  }
  /** Puts every consent dead letter back in the queue; returns how many. */
  retryConsentDeadLetters(): number {
    return Number(this.db.prepare('DELETE FROM consent_writes WHERE dead IS NOT NULL').run().changes);
  }
  consentWritten(patient: string, grantee: string, version: number, serverId: string): void {
    this.db
      .prepare('UPDATE consents SET written_version = ?, server_id = ? WHERE patient = ? AND grantee = ?')
      .run(version, serverId, patient, grantee);
    this.db.prepare('DELETE FROM consent_writes WHERE patient = ? AND grantee = ?').run(patient, grantee);
  }

  // ── document keys ──
  putDocKey(docId: string, envelope: Uint8Array): void {
    this.db.prepare('INSERT INTO doc_keys (doc_id, envelope) VALUES (?, ?)').run(docId, envelope);
  }
  docKey(docId: string): Uint8Array | undefined {
    const r = this.db.prepare('SELECT envelope FROM doc_keys WHERE doc_id = ?').get(docId) as Row | undefined;
    return r ? new Uint8Array(r.envelope as Uint8Array) : undefined;
  }
  deleteDocKey(docId: string): boolean {
    return Number(this.db.prepare('DELETE FROM doc_keys WHERE doc_id = ?').run(docId).changes) > 0;
  }

  // ── erasure ──
  addErasure(seq: number, subject: string, requestedBy: string, now: number): ErasureRow {
    const r = this.db
      .prepare(
        `INSERT INTO erasures (seq, subject, state, requested_by, requested_at) VALUES (?, ?, 'pending', ?, ?) RETURNING *`,
      )
      .get(seq, subject, requestedBy, now) as Row;
    return toErasure(r);
  }
  erasure(id: number): ErasureRow | undefined {
    const r = this.db.prepare('SELECT * FROM erasures WHERE id = ?').get(id) as Row | undefined;
    return r ? toErasure(r) : undefined;
  }
  erasures(state?: string): ErasureRow[] {
    const rows = state
      ? this.db.prepare('SELECT * FROM erasures WHERE state = ? ORDER BY id').all(state)
      : this.db.prepare('SELECT * FROM erasures ORDER BY id').all();
    return (rows as Row[]).map(toErasure);
  }
  decideErasure(id: number, state: 'approved' | 'rejected', by: string, now: number, seqs: number[]): void {
    this.db.exec('BEGIN');
    try {
      this.db
        .prepare('UPDATE erasures SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?')
        .run(state, by, now, id);
      const mark = this.db.prepare(
        'INSERT OR IGNORE INTO erased (seq, erasure_id, erased_at) VALUES (?, ?, ?)',
      );
      if (state === 'approved') for (const s of seqs) mark.run(s, id, now);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
  isErased(seq: number): boolean {
    return this.db.prepare('SELECT 1 FROM erased WHERE seq = ?').get(seq) !== undefined;
  }
  erasedSet(seqs: number[]): Set<number> {
    if (seqs.length === 0) return new Set();
    const rows = this.db
      .prepare(`SELECT seq FROM erased WHERE seq IN (${seqs.map(() => '?').join(',')})`)
      .all(...seqs) as Row[];
    return new Set(rows.map((r) => Number(r.seq)));
  }
}

function toAudit(r: Row): AuditRow {
  return {
    id: String(r.id),
    subject: String(r.subject),
    recorded: Number(r.recorded),
    actor: r.actor === null ? null : String(r.actor),
    role: String(r.role),
    action: String(r.action),
    outcome: r.outcome as AuditRow['outcome'],
    entity: r.entity === null ? null : String(r.entity),
    auditSeq: r.audit_seq === null ? null : Number(r.audit_seq),
  };
}

function toConsent(r: Row): ConsentRow {
  return {
    patient: String(r.patient),
    grantee: String(r.grantee),
    scope: Number(r.scope),
    expiresAt: String(r.expires_at),
    status: r.status as ConsentRow['status'],
    blockNumber: Number(r.block_number),
    txHash: String(r.tx_hash),
    version: Number(r.version),
    resource: String(r.resource),
    serverId: r.server_id === null ? null : String(r.server_id),
  };
}

function toErasure(r: Row): ErasureRow {
  return {
    id: Number(r.id),
    seq: Number(r.seq),
    subject: String(r.subject),
    state: r.state as ErasureRow['state'],
    requestedBy: String(r.requested_by),
    requestedAt: Number(r.requested_at),
    decidedBy: r.decided_by === null ? null : String(r.decided_by),
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  };
}
