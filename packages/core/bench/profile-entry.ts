// Bundled by profile.ts into the Chromium page: the verifyRecord loop of the bench, to be profiled.
import { buildTree, keccakReady, leafHash, verifyRecord, verifyRecords } from '../src/index.js';
import { BENCH_EXPECTED, benchLeaves } from './workload.js';

/**
 * Prepares 1,000 records like the bench (one tree) and exposes `run(rounds, list)`: ms per pass over all
 * records, with verifyRecord one by one (list 0) or verifyRecords over slices of `list` records.
 */
export async function prepare(texts: string[]): Promise<void> {
  await keccakReady();
  const resources = texts.map((t) => JSON.parse(t) as { resourceType: string; id: string });
  const leaves = await benchLeaves(resources);
  const tree = buildTree(leaves.map(leafHash));
  const proofs = leaves.map((_, i) => tree.proof(i));
  const run = async (rounds: number, list = 0): Promise<number> => {
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      if (list > 0) {
        for (let lo = 0; lo < resources.length; lo += list) {
          const inputs = resources.slice(lo, lo + list).map((resource, k) => ({
            resource,
            leaf: leaves[lo + k]!,
            proof: proofs[lo + k]!,
            root: tree.root,
            ...BENCH_EXPECTED,
          }));
          if ((await verifyRecords(inputs)).some((result) => result.status !== 'verified'))
            throw new Error('a record did not verify');
        }
        continue;
      }
      for (let i = 0; i < resources.length; i++) {
        const result = await verifyRecord({
          resource: resources[i],
          leaf: leaves[i]!,
          proof: proofs[i]!,
          root: tree.root,
          ...BENCH_EXPECTED,
        });
        if (result.status !== 'verified') throw new Error(`record ${i} did not verify`);
      }
    }
    return (performance.now() - t0) / rounds;
  };
  Object.assign(globalThis, { run });
}

Object.assign(globalThis, { prepare });
