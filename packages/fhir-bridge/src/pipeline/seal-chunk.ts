/**
 * The CPU-heavy part of the store step, for one chunk of received records: seal each body to the
 * hospital key, compute its IPFS blocks and CID, draw a salt, hash the leaf, and lay the whole chunk
 * out as ONE CARv1 (a pinned dag-cbor root linking every envelope, then every block once).
 *
 * Pure and self-contained, so it runs unchanged on the pipeline's thread or in a worker thread
 * (./seal-worker.ts): input and output are plain data, the CAR one flat byte array that can be
 * transferred without a copy.
 */
import { leafHash, recordAad, type Hex, type HospitalKey } from '@ehr-anchor/core';
import type { CID } from 'multiformats/cid';
import { cidV1String, randomSaltFast, sealForHospital } from './fast-crypto.js';
import { dagCborBlock, encodeCar, fileBlocks, type Block } from './ipfs.js';

export interface ChunkRecord {
  seq: number;
  resourceType: string;
  resourceId: string;
  versionId: string;
  subject: string;
  contentHash: string;
}

export interface SealedChunk {
  /** The chunk's CARv1 bytes, root first. */
  car: Uint8Array;
  /** The import root Kubo must report back. */
  root: string;
  /** Per input record, in order. */
  records: { seq: number; cid: string; salt: string; leaf: string }[];
}

/**
 * Zeroes `bytes` and, when it is the sole view of its ArrayBuffer (not a slice of Node's shared
 * Buffer pool or of a larger buffer), detaches that buffer so its memory goes back to the allocator
 * now rather than at the next full GC. For plaintext bodies and chunk CARs that are done with: no
 * plaintext lingers in freed memory, and RSS does not carry chunks of garbage between collections.
 */
export function discard(bytes: Uint8Array): void {
  bytes.fill(0);
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength &&
    !buffer.detached
  ) {
    buffer.transfer(0);
  }
}

/** The record leaf of `r` stored at `payloadCid` with `salt` (inline, worker and document paths alike). */
export function recordLeaf(r: Omit<ChunkRecord, 'seq'>, payloadCid: string, salt: Hex): Hex {
  return leafHash({
    subject: r.subject as Hex,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    versionId: r.versionId,
    contentHash: r.contentHash as Hex,
    payloadCid,
    salt,
  });
}

/** Seals `records[i]` with body `bodies[i]`; the CAR's root links every envelope (`kind` names it). */
export async function sealChunk(
  kind: string,
  records: ChunkRecord[],
  bodies: Uint8Array[],
  key: HospitalKey,
): Promise<SealedChunk> {
  const links: CID[] = [];
  const blocks: Block[] = [];
  const seen = new Set<string>();
  const out: SealedChunk['records'] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const envelope = sealForHospital(
      bodies[i]!,
      recordAad({ resourceType: r.resourceType, resourceId: r.resourceId, versionId: r.versionId }),
      key,
    );
    const { cid, blocks: fileBlocksOf } = await fileBlocks(envelope);
    const payloadCid = cidV1String(cid);
    links.push(cid);
    if (fileBlocksOf.length === 1) {
      // A fresh envelope (random key and nonce) never repeats: no need to remember it.
      blocks.push(fileBlocksOf[0]!);
    } else {
      for (const b of fileBlocksOf) {
        const k = b.cid.toString();
        if (!seen.has(k)) {
          seen.add(k);
          blocks.push(b);
        }
      }
    }
    const salt = randomSaltFast();
    const leaf = recordLeaf(r, payloadCid, salt);
    out.push({ seq: r.seq, cid: payloadCid, salt, leaf });
  }
  const root = await dagCborBlock({ format: `ehr-anchor-${kind}/v1`, links });
  const parts = encodeCar([root.cid], [root, ...blocks]);
  let size = 0;
  for (const p of parts) size += p.length;
  const car = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    car.set(p, at);
    at += p.length;
  }
  return { car, root: root.cid.toString(), records: out };
}
