/**
 * Worker-thread entry of the seal pool (./seal-pool.ts): runs {@link sealChunk} for the pipeline's
 * thread, so sealing, CIDs and leaf hashes use the machine's other core while the main thread
 * serves HTTP and SQLite. The hospital key arrives in `workerData` (memory only, never logged).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HospitalKey } from '@ehr-anchor/core';
import { discard, sealChunk, type ChunkRecord } from './seal-chunk.js';

export interface SealRequest {
  id: number;
  kind: string;
  key: HospitalKey;
  records: ChunkRecord[];
  /** Every body back to back; record i is `bodies[offsets[i] .. offsets[i + 1])`. */
  bodies: Uint8Array;
  offsets: Uint32Array;
}

export type SealReply =
  | {
      id: number;
      ok: true;
      car: Uint8Array;
      root: string;
      records: { seq: number; cid: string; salt: string; leaf: string }[];
    }
  | { id: number; ok: false; error: string };

const port = parentPort;
if (port && (workerData as { sealWorker?: boolean } | undefined)?.sealWorker) {
  port.on('message', (req: SealRequest) => {
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < req.records.length; i++)
      bodies.push(req.bodies.subarray(req.offsets[i], req.offsets[i + 1]));
    sealChunk(req.kind, req.records, bodies, req.key).then(
      (sealed) => {
        discard(req.bodies);
        const reply: SealReply = { id: req.id, ok: true, ...sealed };
        port.postMessage(reply, [sealed.car.buffer as ArrayBuffer]);
      },
      (error: unknown) => {
        discard(req.bodies);
        port.postMessage({
          id: req.id,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        } satisfies SealReply);
      },
    );
  });
}
