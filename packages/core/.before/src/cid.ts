import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2';
import { bufferSource } from './hex.js';

/**
 * How Kubo chunks a file. The defaults are Kubo's own (`Import.UnixFSChunker` = `size-262144`,
 * `Import.UnixFSFileMaxLinks` = 174, balanced DAG), which `ipfs add --cid-version=1` uses unless
 * told otherwise; pass `{ chunkSize: 1048576, maxLinks: 1024 }` to match
 * `ipfs add --cid-version=1 --chunker=size-1048576 --max-file-links=1024` (IPIP-499 unixfs-v1-2025).
 */
export interface CidOptions {
  chunkSize?: number;
  maxLinks?: number;
}

export const KUBO_CHUNK_SIZE = 262_144;
export const KUBO_MAX_LINKS = 174;

/** CIDv1 of a single raw block (codec raw, sha2-256). */
export async function rawCid(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(bytes)));
  return CID.createV1(raw.code, Digest.create(sha256Hasher.code, digest)).toString();
}

/** Discards blocks: only the CIDs are wanted. */
const nullBlockstore = {
  async put(cid: CID): Promise<CID> {
    return cid;
  },
};

/**
 * The CID Kubo returns for `ipfs add --cid-version=1` (raw leaves) of these bytes: a raw block's
 * CID (`bafkrei…`) when the bytes fit one chunk, else the root of Kubo's balanced UnixFS DAG
 * (`bafybei…`) built with the same chunk size and fan-out.
 */
export async function cidForBytes(bytes: Uint8Array, options: CidOptions = {}): Promise<string> {
  const chunkSize = options.chunkSize ?? KUBO_CHUNK_SIZE;
  if (bytes.length <= chunkSize) return rawCid(bytes);
  let last: CID | undefined;
  for await (const entry of importer([{ content: bytes }], nullBlockstore, {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: options.maxLinks ?? KUBO_MAX_LINKS }),
  })) {
    last = entry.cid;
  }
  if (!last) throw new Error('the UnixFS importer produced no root');
  return last.toString();
}
