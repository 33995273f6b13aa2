/**
 * A small pool of worker threads running {@link sealChunk}. With `size` 0 chunks are sealed on the
 * calling thread — same bytes either way. A worker that dies fails its chunk (the store step
 * releases the records and retries) and is replaced on the next call; one that dies before ever
 * answering (it cannot load, say) turns the pool to sealing on the calling thread for good.
 */
import { Worker } from 'node:worker_threads';
import type { HospitalKey } from '@ehr-anchor/core';
import { discard, sealChunk, type ChunkRecord, type SealedChunk } from './seal-chunk.js';
import type { SealReply, SealRequest } from './seal-worker.js';

// Under tsx (development, tests) this module is a .ts file and so is the worker; built, both are .js.
const WORKER_URL = new URL(
  `./seal-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

interface Slot {
  worker: Worker;
  /** Set once the worker answered a chunk: it loads and runs. */
  proven: boolean;
  busy: number;
  pending: Map<number, { resolve: (s: SealedChunk) => void; reject: (e: Error) => void }>;
}

export class SealPool {
  readonly #slots: (Slot | undefined)[];
  #next = 1;
  #closed = false;
  /** A worker that could not even answer its first chunk (e.g. its module would not load): seal inline from then on. */
  #inline = false;

  constructor(
    readonly size: number,
    readonly workerUrl: URL = WORKER_URL,
  ) {
    this.#slots = new Array<Slot | undefined>(Math.max(0, size)).fill(undefined);
  }

  #slot(i: number): Slot {
    let slot = this.#slots[i];
    if (slot) return slot;
    // A small, capped heap: a worker's JS objects per chunk are a few MB (bodies, envelopes and the
    // CAR are ArrayBuffers outside the heap); without a cap V8 lets an idle-between-chunks heap
    // grow to hundreds of MB before collecting.
    const worker = new Worker(this.workerUrl, {
      workerData: { sealWorker: true },
      resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 },
    });
    worker.unref();
    const s: Slot = { worker, proven: false, busy: 0, pending: new Map() };
    const fail = (error: Error) => {
      if (this.#slots[i] === s) this.#slots[i] = undefined;
      if (!s.proven && !this.#closed) this.#inline = true;
      for (const p of s.pending.values()) p.reject(error);
      s.pending.clear();
    };
    worker.on('message', (reply: SealReply) => {
      const p = s.pending.get(reply.id);
      if (!p) return;
      s.pending.delete(reply.id);
      s.busy--;
      s.proven = true;
      if (reply.ok) p.resolve({ car: reply.car, root: reply.root, records: reply.records });
      else p.reject(new Error(`seal worker: ${reply.error}`));
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => fail(new Error(`seal worker exited with code ${code}`)));
    this.#slots[i] = s;
    slot = s;
    return slot;
  }

  async seal(
    kind: string,
    records: ChunkRecord[],
    bodies: Uint8Array[],
    key: HospitalKey,
  ): Promise<SealedChunk> {
    if (this.#slots.length === 0 || this.#closed || this.#inline) {
      const sealed = await sealChunk(kind, records, bodies, key);
      for (const b of bodies) discard(b);
      return sealed;
    }
    // The least busy worker.
    let best = 0;
    for (let i = 1; i < this.#slots.length; i++)
      if ((this.#slots[i]?.busy ?? 0) < (this.#slots[best]?.busy ?? 0)) best = i;
    const slot = this.#slot(best);
    const offsets = new Uint32Array(bodies.length + 1);
    for (let i = 0; i < bodies.length; i++) offsets[i + 1] = offsets[i]! + bodies[i]!.length;
    const all = new Uint8Array(offsets[bodies.length]!);
    for (let i = 0; i < bodies.length; i++) {
      all.set(bodies[i]!, offsets[i]);
      // The worker has its copy (transferred below); the caller's plaintext is not needed again.
      discard(bodies[i]!);
    }
    const id = this.#next++;
    // Only the fields sealChunk reads: callers may pass richer records (with their bodies), which
    // structured clone would otherwise copy to the worker a second time.
    const meta = records.map(({ seq, resourceType, resourceId, versionId, subject, contentHash }) => ({
      seq,
      resourceType,
      resourceId,
      versionId,
      subject,
      contentHash,
    }));
    const request: SealRequest = {
      id,
      kind,
      key: { kind: key.kind, keyId: key.keyId, secret: key.secret },
      records: meta,
      bodies: all,
      offsets,
    };
    return new Promise<SealedChunk>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.busy++;
      slot.worker.postMessage(request, [all.buffer]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s?.worker.terminate()));
    this.#slots.fill(undefined);
  }
}
