/**
 * Identifiers and bodies at rest: the outbox (SQLite file and its WAL, or PostgreSQL tables,
 * indexes and WAL) never holds a FHIR resource id or a resource body in clear.
 *
 * - `resource_key` = HMAC-SHA256 of `Type/id` under a key derived (HKDF) from the pseudonym key:
 *   what the outbox looks a resource up by (`versions(type, id)`, uniqueness of a version).
 * - `resource_ref` = the id, AES-256-GCM under a second derived key (bound to type and key), so
 *   the pipeline (leaf, envelope AAD, Provenance target), `/anchors` and the read side get it back.
 * - `body` = the received JSON, AES-256-GCM under the same key (bound to the version), until it is
 *   sealed into its envelope and deleted.
 *
 * {@link SealedOutbox} wraps either outbox implementation: callers keep passing and getting plain
 * ids and bodies; only the wrapper holds the keys. Schema 2 ({@link OUTBOX_SCHEMA}); an outbox of
 * schema 1 (plaintext `resource_id` and bodies) is migrated in place when first opened, then its
 * free pages are scrubbed (SQLite: VACUUM + WAL truncated).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
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

/** The outbox schema this code writes: 2 = keyed resource keys, sealed ids and bodies. */
export const OUTBOX_SCHEMA = 2;
const MAGIC = Buffer.from('EAR1');

/** The two keys of the outbox at rest, derived from the hospital's pseudonym key. */
export class AtRestKeys {
  readonly #mac: Buffer;
  readonly #enc: Buffer;

  constructor(pseudonymKey: Uint8Array) {
    const derive = (info: string) =>
      Buffer.from(hkdfSync('sha256', pseudonymKey, Buffer.alloc(0), `ehr-anchor/outbox/v2/${info}`, 32));
    this.#mac = derive('resource-key');
    this.#enc = derive('seal');
  }

  /** The keyed hash a resource is stored and looked up under (hex). */
  resourceKey(resourceType: string, resourceId: string): string {
    return createHmac('sha256', this.#mac).update(`${resourceType}/${resourceId}`).digest('hex');
  }

  /** `EAR1` + 12-byte IV + AES-256-GCM ciphertext + 16-byte tag, bound to `aad`. */
  seal(plaintext: Uint8Array | string, aad: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#enc, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = cipher.update(plaintext);
    const final = cipher.final();
    return Buffer.concat([MAGIC, iv, body, final, cipher.getAuthTag()]);
  }

  /** Opens what {@link seal} made; throws on any change (or another row's ciphertext). */
  open(sealed: Uint8Array, aad: string): Buffer {
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (b.length < 32 || !b.subarray(0, 4).equals(MAGIC)) throw new Error('outbox value is not sealed');
    const decipher = createDecipheriv('aes-256-gcm', this.#enc, b.subarray(4, 16));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([decipher.update(b.subarray(16, b.length - 16)), decipher.final()]);
  }

  /** The sealed form of a resource id, bound to its type and keyed hash. */
  sealId(resourceType: string, key: string, resourceId: string): Buffer {
    return this.seal(resourceId, refAad(resourceType, key));
  }

  /** The resource id back from {@link sealId}'s output. */
  openId(resourceType: string, key: string, sealed: Uint8Array): string {
    return this.open(sealed, refAad(resourceType, key)).toString('utf8');
  }

  static isSealed(value: Uint8Array): boolean {
    return value.length >= 32 && Buffer.from(value.buffer, value.byteOffset, 4).equals(MAGIC);
  }
}

const refAad = (type: string, key: string) => `ref:${type}/${key}`;
const bodyAad = (type: string, key: string, versionId: string, hash: string) =>
  `body:${type}/${key}/${versionId}/${hash}`;

/** The {@link Outbox} over an inner outbox that stores keyed hashes and ciphertext only. */
export class SealedOutbox implements Outbox {
  readonly kind: Outbox['kind'];

  constructor(
    readonly inner: Outbox,
    readonly keys: AtRestKeys,
  ) {
    this.kind = inner.kind;
  }

  /** Creates the tables, then migrates schema-1 rows (plaintext ids and bodies) to sealed ones. */
  async init(): Promise<void> {
    await this.inner.init();
    let legacy = await this.inner.legacyRecords(500);
    // Marked before the first row is rewritten: until the scrub has run once (it can fail, e.g.
    // without the rights, or the process can stop), every start finishes the migration.
    if (legacy.length) await this.inner.setState('outbox:schema', 'scrubbing');
    while (legacy.length) {
      await this.inner.rewriteRecords(legacy.map((r) => this.#sealLegacy(r)));
      legacy = await this.inner.legacyRecords(500);
    }
    if ((await this.inner.getState('outbox:schema')) === 'scrubbing') await this.inner.scrub();
    await this.inner.setState('outbox:schema', String(OUTBOX_SCHEMA));
  }

  #sealLegacy(r: LegacyRecord): LegacyRecord {
    const key = this.keys.resourceKey(r.resourceType, r.resourceId);
    return {
      ...r,
      resourceKey: key,
      resourceRef: this.keys.sealId(r.resourceType, key, r.resourceId),
      body:
        r.body && !AtRestKeys.isSealed(r.body)
          ? this.keys.seal(r.body, bodyAad(r.resourceType, key, r.versionId, r.contentHash))
          : r.body,
    };
  }

  #id(type: string, key: string, ref: Uint8Array | null | undefined): string {
    if (!ref) throw new Error('outbox row without its sealed id (schema 1 row not migrated)');
    return this.keys.openId(type, key, ref);
  }

  #info(r: RecordInfo): RecordInfo {
    return { ...r, resourceId: this.#id(r.resourceType, r.resourceId, r.resourceRef), resourceRef: null };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  recoverLeases(): Promise<void> {
    return this.inner.recoverLeases();
  }

  enqueue(versions: IncomingVersion[], now?: number): Promise<EnqueueResult[]> {
    return this.inner.enqueue(
      versions.map((v) => {
        const key = this.keys.resourceKey(v.resourceType, v.resourceId);
        return {
          ...v,
          resourceId: key,
          resourceRef: this.keys.sealId(v.resourceType, key, v.resourceId),
          body: this.keys.seal(v.body, bodyAad(v.resourceType, key, v.versionId, v.contentHash)),
        };
      }),
      now,
    );
  }

  /**
   * Claims and opens received records. A row that does not open (its ciphertext altered or moved:
   * only someone writing to the database does that) is left out and keeps its lease, so it is
   * tried again only when the lease runs out, and never holds up the rows after it;
   * `onUnreadable` hears of it (the bridge logs it and counts it as a step error).
   */
  async claimReceived(limit: number, leaseMs: number, now?: number): Promise<ReceivedRecord[]> {
    const rows = await this.inner.claimReceived(limit, leaseMs, now);
    const out: ReceivedRecord[] = [];
    for (const r of rows) {
      const key = r.resourceId;
      try {
        out.push({
          ...r,
          resourceId: this.#id(r.resourceType, key, r.resourceRef),
          resourceRef: null,
          body: this.keys.open(r.body, bodyAad(r.resourceType, key, r.versionId, r.contentHash)),
        });
      } catch {
        this.onUnreadable?.(r.seq);
      }
    }
    return out;
  }

  /** Called with the seq of a received row that does not open (see {@link claimReceived}). */
  onUnreadable?: (seq: number) => void;

  markStored(updates: StoredUpdate[], now?: number): Promise<number> {
    return this.inner.markStored(updates, now);
  }
  release(seqs: number[]): Promise<void> {
    return this.inner.release(seqs);
  }
  stored(): Promise<{ count: number; oldestReceivedAt: number | null; openBatches: number }> {
    return this.inner.stored();
  }
  claimStored(limit: number, leaseMs: number, now?: number): Promise<StoredRecord[]> {
    return this.inner.claimStored(limit, leaseMs, now);
  }
  createBatch(draft: BatchDraft, now?: number): Promise<number> {
    return this.inner.createBatch(draft, now);
  }
  claimBatch(leaseMs: number, now?: number): Promise<BatchRow | undefined> {
    return this.inner.claimBatch(leaseMs, now);
  }
  markBatchSent(id: number, tx: { hash: string; raw: string; nonce: number }): Promise<void> {
    return this.inner.markBatchSent(id, tx);
  }
  batchFailed(id: number, error: string, retryInMs: number, now?: number): Promise<void> {
    return this.inner.batchFailed(id, error, retryInMs, now);
  }
  markBatchAnchored(id: number, blockNumber: number, now?: number): Promise<void> {
    return this.inner.markBatchAnchored(id, blockNumber, now);
  }
  getBatch(id: number): Promise<BatchRow | undefined> {
    return this.inner.getBatch(id);
  }
  listBatches(limit: number, beforeId?: number): Promise<BatchRow[]> {
    return this.inner.listBatches(limit, beforeId);
  }
  async versions(resourceType: string, resourceId: string): Promise<RecordInfo[]> {
    const rows = await this.inner.versions(resourceType, this.keys.resourceKey(resourceType, resourceId));
    return rows.map((r) => this.#info(r));
  }
  async bySubject(subject: string, limit: number, afterSeq?: number): Promise<RecordInfo[]> {
    return (await this.inner.bySubject(subject, limit, afterSeq)).map((r) => this.#info(r));
  }
  async bySeq(seqs: number[]): Promise<RecordInfo[]> {
    return (await this.inner.bySeq(seqs)).map((r) => this.#info(r));
  }
  counts(now?: number): Promise<OutboxCounts> {
    return this.inner.counts(now);
  }
  async pendingProvenance(source: string, limit: number, now?: number): Promise<RecordInfo[]> {
    return (await this.inner.pendingProvenance(source, limit, now)).map((r) => this.#info(r));
  }
  setProvenance(seq: number, status: string): Promise<void> {
    return this.inner.setProvenance(seq, status);
  }
  provenanceFailed(seq: number, error: string, retryAt: number, dead: boolean): Promise<void> {
    return this.inner.provenanceFailed(seq, error, retryAt, dead);
  }
  deadLetters(): Promise<{ provenance: number }> {
    return this.inner.deadLetters();
  }
  retryDeadLetters(): Promise<{ provenance: number }> {
    return this.inner.retryDeadLetters();
  }
  legacyRecords(limit: number): Promise<LegacyRecord[]> {
    return this.inner.legacyRecords(limit);
  }
  rewriteRecords(rows: LegacyRecord[]): Promise<void> {
    return this.inner.rewriteRecords(rows);
  }
  scrub(): Promise<void> {
    return this.inner.scrub();
  }
  getState(key: string): Promise<string | undefined> {
    return this.inner.getState(key);
  }
  setState(key: string, value: string): Promise<void> {
    return this.inner.setState(key, value);
  }
}
