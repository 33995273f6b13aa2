/**
 * The IPFS side: whole batches go to Kubo as ONE CAR import (`dag import`), the blocks' CIDs
 * computed locally with the same chunking Kubo's `add --cid-version=1` uses (so `cidForBytes` from
 * packages/core agrees). Kubo re-hashes every block of a CAR and refuses a mismatch ("mismatch in
 * content integrity"), and we compare the root CID Kubo reports with ours — so every CID is checked.
 * Each import has one dag-cbor root that links all its blocks and is pinned, so one pin keeps a
 * whole chunk of envelopes out of garbage collection.
 */
import * as dagCbor from '@ipld/dag-cbor';
import { KUBO_CHUNK_SIZE, KUBO_MAX_LINKS } from '@ehr-anchor/core';
import { rawCidFast } from './fast-crypto.js';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { create, type KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { encode as varint } from 'uint8-varint';
import { removeFromIpfs } from '../read/erasure.js';
import { Replicator, type ReplicationOptions } from './replication.js';

export class ContentTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`IPFS content larger than ${limit} bytes`);
    this.name = 'ContentTooLargeError';
  }
}

/** `cat` of one node over its RPC API, in full, refusing more than `limit` bytes. */
export async function catFrom(
  apiUrl: string,
  cid: string,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const res = await fetch(`${apiUrl.replace(/\/$/, '')}/api/v0/cat?arg=${encodeURIComponent(cid)}`, {
    method: 'POST',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok || !res.body) throw new Error(`Kubo cat answered ${res.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > limit) {
      await res.body.cancel().catch(() => undefined);
      throw new ContentTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

/** The blocks of `bytes` as `ipfs add --cid-version=1` stores them, root last. */
export async function fileBlocks(bytes: Uint8Array): Promise<{ cid: CID; blocks: Block[] }> {
  if (bytes.length <= KUBO_CHUNK_SIZE) {
    const cid = rawCidFast(bytes);
    return { cid, blocks: [{ cid, bytes }] };
  }
  const blocks: Block[] = [];
  const store = {
    async put(cid: CID, block: Uint8Array): Promise<CID> {
      blocks.push({ cid, bytes: block });
      return cid;
    },
  };
  let root: CID | undefined;
  for await (const entry of importer([{ content: bytes }], store, {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_LINKS }),
  })) {
    root = entry.cid;
  }
  return { cid: root!, blocks };
}

/** CARv1 bytes: header `{version: 1, roots}` then `varint(len) cid bytes` per block. */
export function encodeCar(roots: CID[], blocks: Block[]): Uint8Array[] {
  const header = dagCbor.encode({ version: 1, roots });
  const parts: Uint8Array[] = [varint(header.length), header];
  for (const b of blocks) parts.push(varint(b.cid.bytes.length + b.bytes.length), b.cid.bytes, b.bytes);
  return parts;
}

export async function dagCborBlock(value: unknown): Promise<Block> {
  const bytes = dagCbor.encode(value);
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes };
}

export class IpfsStore {
  readonly client: KuboRPCClient;
  /** Copies on peer nodes (none: everything stays on this node only). */
  readonly replicator: Replicator | undefined;

  constructor(
    readonly apiUrl: string,
    replication?: Omit<ReplicationOptions, 'localUrl'>,
  ) {
    this.client = create({ url: apiUrl, timeout: 120_000 });
    this.replicator =
      replication && replication.factor > 1
        ? new Replicator({ ...replication, localUrl: apiUrl })
        : undefined;
  }

  /** Peer nodes that hold replicas (reads fall back to them). */
  get peers(): readonly string[] {
    return this.replicator?.peers ?? [];
  }

  /** Starts copying this root to peers (in the background; the sweep catches up on failures). */
  replicate(cid: string): void {
    void this.replicator?.replicate(cid);
  }

  /**
   * Removes `cids` from every node holding copies (erasure): `before` runs first (the caller marks
   * the records erased), then each node drops them. With peers, nothing happens unless every node
   * answers (ReplicationError), and the replication sweep waits meanwhile. Returns blocks deleted.
   */
  async removeEverywhere(cids: string[], before: () => void | Promise<void>): Promise<number> {
    if (!this.replicator) {
      await before();
      return removeFromIpfs(this.client, cids);
    }
    return this.replicator.exclusive(async (nodes) => {
      await before();
      let removed = 0;
      for (const { url, pinName } of nodes)
        removed += await removeFromIpfs(
          url === this.apiUrl ? this.client : create({ url, timeout: 60_000 }),
          cids,
          pinName,
        );
      return removed;
    });
  }

  /**
   * Reads content in full from this node, else from the first peer that has it. The caller checks
   * the bytes against their CID (a peer is another hospital's node: trusted for availability only).
   */
  async catBytes(cid: string, limit: number, timeoutMs = 30_000): Promise<Uint8Array> {
    let lastError: unknown;
    for (const url of [this.apiUrl, ...this.peers]) {
      try {
        return await catFrom(url, cid, limit, timeoutMs);
      } catch (error) {
        if (error instanceof ContentTooLargeError) throw error;
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error('IPFS content could not be fetched');
  }

  /** Imports `blocks` plus a pinned dag-cbor root linking `links`; returns the root CID. */
  async importPinned(kind: string, links: CID[], blocks: Block[]): Promise<CID> {
    const root = await dagCborBlock({ format: `ehr-anchor-${kind}/v1`, links });
    await this.importCar(encodeCar([root.cid], [root, ...blocks]), root.cid.toString());
    return root.cid;
  }

  /**
   * Imports one CAR (bytes or its parts) and pins its root. Kubo re-hashes every block (a mismatch
   * fails the import), and the root it reports must be `expectedRoot`.
   */
  async importCar(car: Uint8Array | Uint8Array[], expectedRoot: string): Promise<void> {
    const parts = Array.isArray(car) ? car : [car];
    let pinned: string | undefined;
    for await (const result of this.client.dag.import(
      [
        (async function* () {
          yield* parts;
        })(),
      ] as never,
      { pinRoots: true },
    )) {
      if (result.root.pinErrorMsg)
        throw new Error(`Kubo could not pin the import root: ${result.root.pinErrorMsg}`);
      pinned = result.root.cid.toString();
    }
    if (pinned !== expectedRoot) throw new Error(`Kubo reported root ${pinned}, expected ${expectedRoot}`);
    this.replicate(expectedRoot);
  }

  /** Stores a JSON document as one raw block (pinned) and returns its CID (`bafkrei…`). */
  async putJson(value: unknown): Promise<string> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const { cid, blocks } = await fileBlocks(bytes);
    const parts = encodeCar([cid], blocks);
    for await (const result of this.client.dag.import(
      [
        (async function* () {
          yield* parts;
        })(),
      ] as never,
      { pinRoots: true },
    )) {
      if (result.root.pinErrorMsg)
        throw new Error(`Kubo could not pin ${cid.toString()}: ${result.root.pinErrorMsg}`);
      if (result.root.cid.toString() !== cid.toString()) throw new Error('Kubo reported another root CID');
    }
    this.replicate(cid.toString());
    return cid.toString();
  }

  async ping(): Promise<void> {
    await this.client.id({ timeout: 3_000 });
  }
}
