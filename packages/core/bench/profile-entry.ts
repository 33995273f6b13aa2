// Bundled by profile.ts into the Chromium page: the verifyRecord loop of the bench, to be profiled.
import { buildTree, contentHash, keccakReady, leafHash, randomSalt, verifyRecord, type LeafInput } from '../src/index.js';

/** Prepares 1,000 records like the bench (one tree) and exposes `run(rounds)`: ms per pass over all records. */
export async function prepare(texts: string[]): Promise<void> {
  await keccakReady();
  const resources = texts.map((t) => JSON.parse(t) as { resourceType: string; id: string });
  const leaves: LeafInput[] = [];
  for (const r of resources) {
    leaves.push({
      subject: randomSalt(),
      resourceType: r.resourceType,
      resourceId: r.id,
      versionId: '1',
      contentHash: await contentHash(r),
      payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
      salt: randomSalt(),
    });
  }
  const tree = buildTree(leaves.map(leafHash));
  const proofs = leaves.map((_, i) => tree.proof(i));
  const run = async (rounds: number): Promise<number> => {
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < resources.length; i++) {
        const result = await verifyRecord({ resource: resources[i], leaf: leaves[i]!, proof: proofs[i]!, root: tree.root, anchored: true });
        if (result.status !== 'verified') throw new Error(`record ${i} did not verify`);
      }
    }
    return (performance.now() - t0) / rounds;
  };
  Object.assign(globalThis, { run });
}

Object.assign(globalThis, { prepare });
