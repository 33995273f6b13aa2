/**
 * Erasure (crypto-shredding), once the hospital approved the patient's request:
 *
 * - every version of the resource is marked erased (reads answer 410 Gone from then on);
 * - its envelopes are removed from this Kubo node: the pinned import roots that link them are
 *   re-pinned without them, then their blocks are deleted (`block rm`);
 * - for a DocumentReference, the wrapped content key is deleted from the key table, so the
 *   content's ciphertext is unreadable wherever a copy of it survives, and the content blocks go too.
 *
 * The leaf, its proof and the anchored root stay: the chain still proves that the record existed,
 * while nothing that could reveal its content remains with the bridge. (Envelopes of records are
 * wrapped to the hospital key; a copy of one taken off IPFS before the erasure stays readable to
 * whoever also holds that key — see the README on key rotation.)
 */
import type { KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';
import type { RecordInfo } from '../outbox/types.js';

/** Every block of a DAG (root included). */
async function blocksOf(ipfs: KuboRPCClient, cid: string): Promise<string[]> {
  const out = [cid];
  try {
    for await (const ref of ipfs.refs(cid, { recursive: true, unique: true, timeout: 10_000 }))
      if (ref.ref) out.push(ref.ref);
  } catch {
    // A raw block has no refs; a missing block has nothing more to remove.
  }
  return out;
}

/**
 * Removes `cids` (and their blocks) from the node: unpins them, re-pins any ehr-anchor import root
 * linking them without them (under `pinName` when given: the name a replica carries), and deletes
 * the blocks. Returns how many blocks were deleted.
 */
export async function removeFromIpfs(ipfs: KuboRPCClient, cids: string[], pinName?: string): Promise<number> {
  const drop = new Set(cids);
  for (const cid of cids) {
    try {
      await ipfs.pin.rm(CID.parse(cid));
    } catch {
      // not pinned directly
    }
  }
  for await (const pin of ipfs.pin.ls({ type: 'recursive' })) {
    const root = pin.cid;
    if (root.code !== 0x71) continue; // dag-cbor roots are the pipeline's import roots
    const node = (await ipfs.dag.get(root, { timeout: 10_000 })).value as { format?: unknown; links?: CID[] };
    if (
      typeof node.format !== 'string' ||
      !node.format.startsWith('ehr-anchor-') ||
      !Array.isArray(node.links)
    )
      continue;
    const kept = node.links.filter((l) => !drop.has(l.toString()));
    if (kept.length === node.links.length) continue;
    const rewritten = await ipfs.dag.put(
      { ...node, links: kept },
      { storeCodec: 'dag-cbor', hashAlg: 'sha2-256', pin: true },
    );
    if (pinName) await ipfs.pin.add(rewritten, { name: pinName });
    await ipfs.pin.rm(root);
  }
  let removed = 0;
  for (const cid of cids) {
    const blocks = await blocksOf(ipfs, cid);
    for await (const r of ipfs.block.rm(
      blocks.map((b) => CID.parse(b)),
      { force: true },
    ))
      if (!r.error) removed++;
  }
  return removed;
}

/** Whether this Kubo node still has the block (offline check, no network). */
export async function hasBlock(ipfs: KuboRPCClient, cid: string): Promise<boolean> {
  try {
    await ipfs.block.stat(CID.parse(cid), { offline: true, timeout: 5_000 } as never);
    return true;
  } catch {
    return false;
  }
}

/** Content CIDs a DocumentReference points at (`ipfs://…` attachment URLs). */
export function attachmentCids(resource: { content?: { attachment?: { url?: string } }[] }): string[] {
  return (resource.content ?? []).flatMap((c) =>
    c.attachment?.url?.startsWith('ipfs://') ? [c.attachment.url.slice(7)] : [],
  );
}

export function seqsOf(versions: RecordInfo[]): number[] {
  return versions.map((v) => v.seq);
}
