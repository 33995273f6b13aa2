/**
 * The pipeline workers. Each step is a small function that moves records one state forward and
 * persists the result before the next step can see it (docs/conventions.md §12), so a restart — after a
 * crash at any point — simply runs the steps again:
 *
 *   store:  received → stored    seal envelopes, one CAR import of the whole chunk into Kubo
 *   batch:  stored   → batched   Merkle tree, manifest on IPFS, proofs saved, batch `pending`
 *   anchor: batch pending → sent → anchored (one anchor() tx, saved before it is broadcast)
 *   provenance (optional per source): Provenance written back to the source server
 *
 * An IPFS or chain outage makes a step fail; it is retried with exponential backoff and the
 * records wait in their current state. Nothing is lost and nothing is anchored twice.
 */
import { buildTree, recordAad, sealEnvelope, type Hex, type MerkleTree } from '@ehr-anchor/core';
import type { BatchManifest } from '@ehr-anchor/core/api';
import type { FastifyBaseLogger } from 'fastify';
import { errorMessage } from '../errors.js';
import type { SourceConfig } from '../config.js';
import type { Ingestor } from '../ingest/service.js';
import { DERIVED_VERSION_PREFIX } from '../ingest/prepare.js';
import type { KeyStore } from '../keys/keystore.js';
import type { BridgeMetrics } from '../metrics.js';
import type { Outbox, RecordInfo, ReceivedRecord, StoredUpdate } from '../outbox/types.js';
import type { Chain } from './chain.js';
import { randomSaltFast, sealForHospital } from './fast-crypto.js';
import { fileBlocks, type Block, type IpfsStore } from './ipfs.js';
import { discard, recordLeaf } from './seal-chunk.js';
import { SealPool } from './seal-pool.js';
import type { CID } from 'multiformats/cid';

export interface PipelineOptions {
  batchMax: number;
  batchMaxMs: number;
  /** Records sealed and imported per CAR (default: min(batchMax, 5000)). */
  storeChunk?: number;
  /** Store steps running at once, so one chunk is sealed while another is imported (default 2). */
  storeConcurrency?: number;
  /** Worker threads sealing chunks (default 1; 0 seals on the pipeline's thread). */
  sealWorkers?: number;
  leaseMs?: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long one wait for an anchor receipt lasts before the step yields (ms). */
  receiptTimeoutMs?: number;
  provenanceSources: SourceConfig[];
  /** Per-record attempts of write-backs (Provenance) before a record becomes a dead letter. */
  writeBack: { maxAttempts: number; retryBaseMs: number; retryMaxMs: number };
}

export interface PipelineDeps {
  outbox: Outbox;
  ipfs: IpfsStore;
  chain: Chain;
  keyStore: KeyStore;
  metrics: BridgeMetrics;
  log: FastifyBaseLogger;
  ingestor: Ingestor;
}

type StepName = 'store' | 'batch' | 'anchor' | 'provenance';

/** A wake-up signal several loops can wait on. */
class Signal {
  #waiters: (() => void)[] = [];
  notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((f) => f !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.push(done);
    });
  }
}

export class Pipeline {
  readonly #signal = new Signal();
  #running = false;
  #loops: Promise<void>[] = [];
  readonly #failures: Record<StepName, number> = { store: 0, batch: 0, anchor: 0, provenance: 0 };
  readonly storeChunk: number;
  readonly leaseMs: number;
  readonly #sealPool: SealPool;
  /** When the waiting records' batch window ends (epoch ms), if records wait for it and nothing else. */
  #batchDueAt: number | null = null;

  constructor(
    readonly deps: PipelineDeps,
    readonly options: PipelineOptions,
  ) {
    this.storeChunk = options.storeChunk ?? Math.min(options.batchMax, 5000);
    this.leaseMs = options.leaseMs ?? 60_000;
    this.#sealPool = new SealPool(options.sealWorkers ?? 1);
  }

  /** Called after new records were committed. */
  wake(): void {
    this.#signal.notify();
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.deps.outbox.recoverLeases();
    this.#loops = [
      ...Array.from({ length: Math.max(1, this.options.storeConcurrency ?? 2) }, () =>
        this.#loop('store', () => this.storeStep()),
      ),
      this.#loop('batch', () => this.batchStep()),
      this.#loop('anchor', () => this.anchorStep()),
    ];
    if (this.options.provenanceSources.length)
      this.#loops.push(this.#loop('provenance', () => this.provenanceStep()));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.notify();
    await Promise.all(this.#loops);
    this.#loops = [];
    await this.#sealPool.close();
  }

  #backoff(step: StepName): number {
    const n = this.#failures[step];
    const base = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(n, 16));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  async #loop(step: StepName, fn: () => Promise<boolean>): Promise<void> {
    while (this.#running) {
      let progressed = false;
      try {
        progressed = await fn();
        this.#failures[step] = 0;
      } catch (error) {
        this.#failures[step]++;
        this.deps.metrics.stepErrors.inc({ step });
        this.deps.log.warn(
          { step, attempt: this.#failures[step], err: { message: errorMessage(error) } },
          'pipeline step failed; will retry',
        );
        await this.#signal.wait(this.#backoff(step));
        continue;
      }
      if (progressed) {
        // Let the next step know, and run again at once: there may be more.
        this.#signal.notify();
        await new Promise((r) => setImmediate(r));
      } else {
        await this.#signal.wait(
          step === 'batch' ? this.batchWaitMs() : step === 'provenance' ? 2_000 : 1_000,
        );
      }
    }
  }

  /**
   * How long the batch step sleeps when nothing was due: until the waiting records' window ends (so
   * a batch closes on time, not up to a polling interval late — at steady traffic that lateness was
   * the p99 push→anchored), at most 1 s; new records and anchored batches wake it earlier.
   */
  batchWaitMs(now = Date.now()): number {
    const poll = Math.min(this.options.batchMaxMs, 1000);
    if (this.#batchDueAt === null) return poll;
    return Math.max(1, Math.min(poll, this.#batchDueAt - now));
  }

  /** received → stored: seal each record, import the chunk's envelopes in one CAR, save CIDs and leaves. */
  async storeStep(): Promise<boolean> {
    const { outbox, keyStore, ipfs } = this.deps;
    const t0 = performance.now();
    const records = await outbox.claimReceived(this.storeChunk, this.leaseMs);
    if (records.length === 0) return false;
    try {
      const t1 = performance.now();
      const key = keyStore.activeKey();
      const recipients = [key, ...keyStore.recipients()];
      if (recipients.length === 1 && key.kind === 'hospital') {
        // The hot path: the seal pool seals the chunk and lays it out as one CAR.
        const chunk = await this.#sealPool.seal(
          'chunk',
          records,
          records.map((r) => r.body),
          key,
        );
        const t2 = performance.now();
        await ipfs.importCar(chunk.car, chunk.root);
        discard(chunk.car);
        const t3 = performance.now();
        await outbox.markStored(chunk.records.map((r) => ({ ...r, keyId: key.keyId })));
        const ms = (a: number, b: number) => Math.round(b - a);
        this.deps.log.debug(
          {
            records: records.length,
            claimMs: ms(t0, t1),
            sealMs: ms(t1, t2),
            ipfsMs: ms(t2, t3),
            markMs: ms(t3, performance.now()),
          },
          'stored chunk on IPFS',
        );
        return true;
      }
      const sealed = await Promise.all(records.map((r) => this.#seal(r, recipients)));
      const blocks: Block[] = [];
      const links: CID[] = [];
      const seen = new Set<string>();
      for (const s of sealed) {
        links.push(s.cid);
        for (const b of s.blocks) {
          const k = b.cid.toString();
          if (!seen.has(k)) {
            seen.add(k);
            blocks.push(b);
          }
        }
      }
      const t2 = performance.now();
      await ipfs.importPinned('chunk', links, blocks);
      const t3 = performance.now();
      const updates: StoredUpdate[] = sealed.map((s) => s.update);
      await outbox.markStored(updates);
      const ms = (a: number, b: number) => Math.round(b - a);
      this.deps.log.debug(
        {
          records: records.length,
          claimMs: ms(t0, t1),
          sealMs: ms(t1, t2),
          ipfsMs: ms(t2, t3),
          markMs: ms(t3, performance.now()),
        },
        'stored chunk on IPFS',
      );
      return true;
    } catch (error) {
      await outbox.release(records.map((r) => r.seq)).catch(() => undefined);
      throw error;
    }
  }

  async #seal(r: ReceivedRecord, recipients: Parameters<typeof sealEnvelope>[0]['recipients']) {
    const aad = recordAad({ resourceType: r.resourceType, resourceId: r.resourceId, versionId: r.versionId });
    // Hospital key only (the hot path): node:crypto; extra HPKE recipients: core's WebCrypto code.
    const only = recipients.length === 1 ? recipients[0] : undefined;
    const envelope =
      only?.kind === 'hospital'
        ? sealForHospital(r.body, aad, only)
        : await sealEnvelope({ plaintext: r.body, aad, recipients });
    const { cid, blocks } = await fileBlocks(envelope);
    const salt = randomSaltFast();
    const payloadCid = cid.toString();
    const leaf = recordLeaf(r, payloadCid, salt);
    const update: StoredUpdate = { seq: r.seq, cid: payloadCid, salt, leaf, keyId: recipients[0]!.keyId };
    return { cid, blocks, update };
  }

  /**
   * stored → batched: when N records wait, or the oldest waited T ms and no earlier batch is still
   * waiting for its anchor, build the tree and manifest. While the chain is busy with a batch,
   * records keep collecting (up to N) instead of queueing as many small batches behind it: the
   * batch size follows what the chain takes (group commit), and one transaction carries them all.
   */
  async batchStep(force = false): Promise<boolean> {
    const { outbox, ipfs, chain } = this.deps;
    const { count, oldestReceivedAt, openBatches } = await outbox.stored();
    this.#batchDueAt = null;
    if (count === 0) return false;
    const waited = oldestReceivedAt !== null && Date.now() - oldestReceivedAt >= this.options.batchMaxMs;
    const due = force || count >= this.options.batchMax || (waited && openBatches === 0);
    if (!due) {
      // An open batch wakes this step when it is anchored; otherwise the window's end does.
      if (oldestReceivedAt !== null && openBatches === 0)
        this.#batchDueAt = oldestReceivedAt + this.options.batchMaxMs;
      return false;
    }
    const t0 = performance.now();
    const members = await outbox.claimStored(this.options.batchMax, this.leaseMs);
    if (members.length === 0) return false;
    try {
      const tree = buildTree(members.map((m) => m.leaf as Hex));
      const manifest: BatchManifest = {
        format: 'ehr-anchor-manifest/v1',
        chainId: await chain.chainId(),
        registry: chain.address,
        root: tree.root,
        count: members.length,
        leaves: members.map((m) => ({ leafHash: m.leaf as Hex, payloadCid: m.cid })),
        createdAt: new Date().toISOString(),
      };
      const manifestCid = await ipfs.putJson(manifest);
      const id = await outbox.createBatch({
        root: tree.root,
        manifestCid,
        members: members.map((m, i) => ({ seq: m.seq, proof: proofOf(tree, i) })),
      });
      this.deps.log.info(
        { batch: id, records: members.length, ms: Math.round(performance.now() - t0) },
        'batch built',
      );
      return true;
    } catch (error) {
      await outbox.release(members.map((m) => m.seq)).catch(() => undefined);
      throw error;
    }
  }

  /** pending → sent → anchored: one transaction per batch, exactly once. */
  async anchorStep(): Promise<boolean> {
    const { outbox, chain, metrics, log } = this.deps;
    const t0 = performance.now();
    const batch = await outbox.claimBatch(this.leaseMs);
    if (!batch) return false;
    try {
      let hash = batch.txHash;
      if (batch.state === 'pending' || !hash || !batch.rawTx) {
        const signed = await chain.signAnchor(batch.root, batch.manifestCid, batch.count);
        await outbox.markBatchSent(batch.id, signed);
        hash = signed.hash;
        if ((await chain.broadcast(signed.raw)) === 'nonce-used')
          throw new Error('nonce taken by another transaction; re-signing');
      } else if (!(await chain.receipt(hash))) {
        // Sent before a crash or an outage: re-send the very same bytes.
        if ((await chain.broadcast(batch.rawTx)) === 'nonce-used' && !(await chain.receipt(hash))) {
          const onChain = await chain.anchorOf(batch.root);
          if (onChain.timestamp === 0) {
            const signed = await chain.signAnchor(batch.root, batch.manifestCid, batch.count);
            await outbox.markBatchSent(batch.id, signed);
            hash = signed.hash;
            await chain.broadcast(signed.raw);
          }
        }
      }
      const receipt = await chain.waitForReceipt(hash, this.options.receiptTimeoutMs ?? 30_000);
      if (!receipt) {
        const onChain = await chain.anchorOf(batch.root);
        if (onChain.timestamp === 0) throw new Error('anchor transaction not mined yet');
      } else if (receipt.status !== 1) {
        const onChain = await chain.anchorOf(batch.root);
        if (
          onChain.timestamp === 0 ||
          onChain.hospital.toLowerCase() !== (await chain.hospital()).toLowerCase()
        ) {
          throw new Error(`anchor transaction reverted (block ${receipt.blockNumber})`);
        }
      }
      await outbox.markBatchAnchored(batch.id, receipt?.blockNumber ?? 0);
      metrics.anchored.inc(batch.count);
      metrics.batches.inc();
      metrics.batchSize.observe(batch.count);
      log.info(
        {
          batch: batch.id,
          records: batch.count,
          block: receipt?.blockNumber,
          ms: Math.round(performance.now() - t0),
        },
        'batch anchored',
      );
      return true;
    } catch (error) {
      await outbox.batchFailed(batch.id, errorMessage(error), this.#backoff('anchor')).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Anchored records → Provenance on their source server (sources with `provenance: true`).
   * Each record has its own attempts: a 5xx about one record backs that record off (exponentially,
   * `writeBack.retryBaseMs` … `retryMaxMs`) while the others proceed, and after
   * `writeBack.maxAttempts` it becomes a dead letter (`provenance = dead:<reason>`, counted in
   * `/status` and `ehr_bridge_dead_letters`, put back by `ehr-bridge retry`); a 4xx is a dead
   * letter at once (the source refuses it: retrying will not help). A source that does not answer
   * at all fails the step (an outage, not the record's fault: nothing is counted against records).
   */
  async provenanceStep(now = Date.now()): Promise<boolean> {
    const { outbox, ingestor, chain } = this.deps;
    const limits = this.options.writeBack;
    let progressed = false;
    for (const source of this.options.provenanceSources) {
      const pending = await outbox.pendingProvenance(source.id, 25, now);
      for (const record of pending) {
        if (record.resourceType === 'Provenance' || record.deleted) {
          // No Provenance about our own Provenance (that would loop through the subscription).
          await outbox.setProvenance(record.seq, 'skipped');
          continue;
        }
        const batch = await outbox.getBatch(record.batchId!);
        if (!batch?.txHash) continue;
        const provenance = provenanceFor(record, {
          root: batch.root,
          txHash: batch.txHash,
          manifestCid: batch.manifestCid,
          chainId: await chain.chainId(),
          registry: chain.address,
        });
        try {
          const created = await ingestor.client(source).create(provenance);
          await outbox.setProvenance(record.seq, `done:${String(created.id ?? '')}`);
        } catch (error) {
          const status = (error as { response?: { status?: number } }).response?.status;
          if (!status) throw error;
          if (status < 500 && (await this.#deletedAtSource(source, record))) {
            // The version was anchored, then the resource deleted at the source before its
            // Provenance was written: a server with referential integrity (HAPI: "HAPI-1096:
            // Resource Observation/x is deleted, specified in path: Provenance.target") refuses a
            // Provenance about it, now and forever. Nothing to write back; not a dead letter.
            await outbox.setProvenance(record.seq, 'skipped:deleted at the source');
            progressed = true;
            continue;
          }
          const attempts = (record.provenanceAttempts ?? 0) + 1;
          const dead = status < 500 || attempts >= limits.maxAttempts;
          const delay = Math.min(limits.retryMaxMs, limits.retryBaseMs * 2 ** Math.min(attempts - 1, 20));
          await outbox.provenanceFailed(record.seq, `HTTP ${status}`, now + delay, dead);
          if (dead) {
            this.deps.log.warn(
              { source: source.id, seq: record.seq, status, attempts },
              'Provenance write-back gave up: dead letter (ehr-bridge retry)',
            );
          }
        }
        progressed = true;
      }
    }
    return progressed;
  }

  /** Whether the source says the record's resource is deleted now (410 Gone on a read). */
  async #deletedAtSource(source: SourceConfig, record: RecordInfo): Promise<boolean> {
    const read = await this.deps.ingestor
      .client(source)
      .read(record.resourceType, record.resourceId)
      .catch(() => undefined);
    return read?.status === 'gone';
  }

  /** Runs the steps until nothing is left to do (tests, `ehr-bridge` one-shot use). */
  async drain(): Promise<void> {
    for (;;) {
      const a = await this.storeStep();
      const b = await this.batchStep(true);
      const c = await this.anchorStep();
      if (!a && !b && !c) return;
    }
  }
}

/** `tree.proof(i)` over the tree's hex nodes, converted once for the whole batch. */
export function proofOf(tree: MerkleTree, index: number): Hex[] {
  const nodes = tree.nodes;
  let i = tree.treeIndex(index);
  const proof: Hex[] = [];
  while (i > 0) {
    proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]!);
    i = Math.floor((i - 1) / 2);
  }
  return proof;
}

export const PROVENANCE_SYSTEMS = {
  root: 'urn:ehr-anchor:merkle-root',
  tx: 'urn:ehr-anchor:anchor-tx',
  manifest: 'urn:ehr-anchor:manifest-cid',
  leaf: 'urn:ehr-anchor:leaf-hash',
} as const;

/** The FHIR Provenance recording that a version was anchored (root, tx hash, manifest CID). */
export function provenanceFor(
  record: RecordInfo,
  anchor: { root: string; txHash: string; manifestCid: string; chainId: number; registry: string },
) {
  // A content-derived version id is ours, not the server's: target the resource then.
  const target = record.versionId.startsWith(DERIVED_VERSION_PREFIX)
    ? `${record.resourceType}/${record.resourceId}`
    : `${record.resourceType}/${record.resourceId}/_history/${record.versionId}`;
  return {
    resourceType: 'Provenance' as const,
    target: [{ reference: target }],
    recorded: new Date(record.anchoredAt ?? Date.now()).toISOString(),
    activity: { text: 'anchored on chain by ehr-anchor' },
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'assembler',
            },
          ],
        },
        who: { display: 'ehr-anchor fhir-bridge' },
      },
    ],
    entity: [
      {
        role: 'source' as const,
        what: { identifier: { system: PROVENANCE_SYSTEMS.root, value: anchor.root } },
      },
      {
        role: 'source' as const,
        what: {
          identifier: { system: PROVENANCE_SYSTEMS.tx, value: `eip155:${anchor.chainId}:${anchor.txHash}` },
        },
      },
      {
        role: 'source' as const,
        what: { identifier: { system: PROVENANCE_SYSTEMS.manifest, value: anchor.manifestCid } },
      },
      {
        role: 'source' as const,
        what: { identifier: { system: PROVENANCE_SYSTEMS.leaf, value: record.leaf ?? '' } },
      },
    ],
  };
}
