/**
 * The durable outbox: every accepted resource version is committed here before the bridge says
 * 202, and each pipeline step moves a record one state forward (docs/conventions.md §12):
 *
 *   received ──seal + IPFS──▶ stored ──Merkle batch──▶ batched ──anchor() mined──▶ anchored
 *
 * Batches have their own states: pending (manifest on IPFS, proofs saved) → sent (signed tx saved
 * before it is broadcast, so a restart re-sends the same bytes and can never anchor twice) → anchored.
 *
 * Work is claimed with a lease (`lease_until`), so several bridge workers can share one PostgreSQL
 * queue (`FOR UPDATE SKIP LOCKED`) and a crashed worker's claim simply expires. Every state change
 * is conditional on the previous state, so a step that runs twice changes nothing the second time.
 */

export const RECORD_STATES = ['received', 'stored', 'batched', 'anchored'] as const;
export type RecordState = (typeof RECORD_STATES)[number];
export const BATCH_STATES = ['pending', 'sent', 'anchored'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** One resource version as accepted at ingest. */
export interface IncomingVersion {
  /** Configured source id the version came from. */
  source: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  /** 0x-prefixed sha256 of the canonical form (packages/core `contentHash`). */
  contentHash: string;
  /** 0x-prefixed patient pseudonym (never the patient id itself). */
  subject: string;
  /** A DELETE (tombstone) rather than content. */
  deleted: boolean;
  /** The resource JSON as received (cleared from the outbox once its ciphertext is on IPFS). */
  body: Uint8Array;
  /** The resource id sealed at rest (outbox/sealed.ts); `resourceId` is then its keyed hash. */
  resourceRef?: Uint8Array;
}

export interface EnqueueResult {
  seq: number;
  /** True when this exact version was already in the outbox (a replay): nothing new was written. */
  duplicate: boolean;
}

export interface ReceivedRecord {
  seq: number;
  source: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  contentHash: string;
  subject: string;
  deleted: boolean;
  body: Uint8Array;
  resourceRef?: Uint8Array | null;
}

/** A schema-1 row (plaintext id and body) and, once sealed, what replaces them. */
export interface LegacyRecord {
  seq: number;
  resourceType: string;
  /** Schema 1: the plaintext id. */
  resourceId: string;
  versionId: string;
  contentHash: string;
  body: Uint8Array | null;
  resourceKey?: string;
  resourceRef?: Uint8Array;
}

/** What the seal+IPFS step learned about a record. */
export interface StoredUpdate {
  seq: number;
  cid: string;
  salt: string;
  leaf: string;
  keyId: string;
}

export interface StoredRecord {
  seq: number;
  leaf: string;
  cid: string;
}

export interface BatchDraft {
  root: string;
  manifestCid: string;
  members: { seq: number; proof: string[] }[];
}

export interface BatchRow {
  id: number;
  state: BatchState;
  root: string;
  manifestCid: string;
  count: number;
  createdAt: number;
  txHash: string | null;
  rawTx: string | null;
  nonce: number | null;
  blockNumber: number | null;
  anchoredAt: number | null;
  attempts: number;
  lastError: string | null;
}

/** Everything the outbox knows about one version, without its content. */
export interface RecordInfo {
  seq: number;
  source: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  contentHash: string;
  subject: string;
  deleted: boolean;
  state: RecordState;
  receivedAt: number;
  cid: string | null;
  salt: string | null;
  leaf: string | null;
  keyId: string | null;
  batchId: number | null;
  proof: string[] | null;
  anchoredAt: number | null;
  /** Provenance write-back: null (pending), `done:<id>`, `skipped`, or `dead:<reason>` (dead letter). */
  provenance: string | null;
  /** Failed Provenance write-back attempts so far. */
  provenanceAttempts?: number;
  /** The sealed id (inner outboxes only; the sealed outbox returns the plain `resourceId`). */
  resourceRef?: Uint8Array | null;
}

export interface OutboxCounts {
  records: Record<RecordState, number>;
  batches: Record<BatchState, number>;
  /** Milliseconds the oldest not-yet-anchored record has waited (0 when none). */
  lagMs: number;
}

export interface Outbox {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates the tables (idempotent). */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  /**
   * Called when this process's workers start. The SQLite outbox belongs to one bridge process, so
   * claims left by a previous (crashed) process are released at once; PostgreSQL keeps them, since
   * other workers may be alive — a dead worker's claims come back when their lease expires.
   */
  recoverLeases(): Promise<void>;

  /** Commits all versions in one transaction (all or nothing); duplicates are reported, not re-added. */
  enqueue(versions: IncomingVersion[], now?: number): Promise<EnqueueResult[]>;

  /** Leases up to `limit` received records (oldest first) for the seal+IPFS step. */
  claimReceived(limit: number, leaseMs: number, now?: number): Promise<ReceivedRecord[]>;
  /** received → stored (and drops the plaintext body); ignores records no longer `received`. */
  markStored(updates: StoredUpdate[], now?: number): Promise<number>;
  /** Gives claimed records back at once (after a failed step) instead of waiting for the lease. */
  release(seqs: number[]): Promise<void>;

  /**
   * Number of stored, unbatched records, the receive time of the oldest of them, and the number of
   * batches not yet anchored (pending or sent) — the batch step's inputs.
   */
  stored(): Promise<{ count: number; oldestReceivedAt: number | null; openBatches: number }>;
  /** Leases up to `limit` stored, unbatched records (oldest first) for the batch step. */
  claimStored(limit: number, leaseMs: number, now?: number): Promise<StoredRecord[]>;
  /** stored → batched for every member and a new pending batch, in one transaction; throws if any member moved on. */
  createBatch(draft: BatchDraft, now?: number): Promise<number>;

  /** Leases the oldest pending or sent batch whose lease expired. */
  claimBatch(leaseMs: number, now?: number): Promise<BatchRow | undefined>;
  /** pending → sent with the signed transaction (saved before it is broadcast). */
  markBatchSent(id: number, tx: { hash: string; raw: string; nonce: number }): Promise<void>;
  /** Records an error and lets the lease expire after `retryInMs`. */
  batchFailed(id: number, error: string, retryInMs: number, now?: number): Promise<void>;
  /** batch and all its records → anchored, in one transaction. */
  markBatchAnchored(id: number, blockNumber: number, now?: number): Promise<void>;

  getBatch(id: number): Promise<BatchRow | undefined>;
  listBatches(limit: number, beforeId?: number): Promise<BatchRow[]>;
  /** Every known version of a resource, newest first. */
  versions(resourceType: string, resourceId: string): Promise<RecordInfo[]>;
  /** Records of one pseudonymous subject (for the read side), newest first. */
  bySubject(subject: string, limit: number, afterSeq?: number): Promise<RecordInfo[]>;
  /** Records by sequence number (for read side / tests). */
  bySeq(seqs: number[]): Promise<RecordInfo[]>;
  counts(now?: number): Promise<OutboxCounts>;

  /** Anchored records of a source waiting for their Provenance write-back (due now, oldest first). */
  pendingProvenance(source: string, limit: number, now?: number): Promise<RecordInfo[]>;
  setProvenance(seq: number, status: string): Promise<void>;
  /**
   * A failed write-back attempt: counted, retried from `retryAt`; `dead` moves the record to the
   * dead letters (`provenance = dead:<error>`), where it stays until {@link retryDeadLetters}.
   */
  provenanceFailed(seq: number, error: string, retryAt: number, dead: boolean): Promise<void>;
  /** Dead letters by step. */
  deadLetters(): Promise<{ provenance: number }>;
  /** Puts every dead letter back in its queue (attempts reset); returns how many. */
  retryDeadLetters(): Promise<{ provenance: number }>;

  /** Schema-1 rows (plaintext id) still to migrate, up to `limit` (outbox/sealed.ts). */
  legacyRecords(limit: number): Promise<LegacyRecord[]>;
  /** Replaces schema-1 ids and bodies with their keyed hash and sealed forms, in one transaction. */
  rewriteRecords(rows: LegacyRecord[]): Promise<void>;
  /** Drops what deleted or rewritten rows left in free pages and logs (after a migration). */
  scrub(): Promise<void>;

  /** Small durable key/value state: sync positions, notification watermarks. */
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string): Promise<void>;
}
