import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTree,
  contentHash,
  leafHash,
  randomSalt,
  verifyRecord,
  verifyRecords,
  type Hex,
  type LeafInput,
  type VerifyRecordInput,
} from '../src/index.js';

describe('verifyRecords', () => {
  it('gives verifyRecord’s result for each record of a mixed list, asking the chain once per root', async () => {
    const inputs: VerifyRecordInput[] = [];
    const asked: string[] = [];
    const anchoredRoots = new Set<string>();
    for (let batch = 0; batch < 3; batch++) {
      const resources = Array.from({ length: 20 }, (_, i) => ({ resourceType: 'Observation', id: `b${batch}-o${i}`, status: 'final', valueInteger: i }));
      const leaves: LeafInput[] = [];
      for (const r of resources) {
        leaves.push({ subject: randomSalt(), resourceType: r.resourceType, resourceId: r.id, versionId: '1', contentHash: await contentHash(r), payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', salt: randomSalt() });
      }
      const tree = buildTree(leaves.map(leafHash));
      if (batch !== 2) anchoredRoots.add(tree.root);
      const anchored = async (root: Hex) => {
        asked.push(root);
        return anchoredRoots.has(root);
      };
      resources.forEach((r, i) => {
        const kind = i % 5;
        inputs.push({
          resource: kind === 1 ? { ...r, valueInteger: 99 } : r,
          leaf: leaves[i]!,
          proof: kind === 2 ? tree.proof((i + 1) % 20) : tree.proof(i),
          root: tree.root,
          anchored,
        });
      });
    }
    const batchResults = await verifyRecords(inputs);
    const askedInBatch = asked.splice(0);
    const single = [];
    for (const input of inputs) single.push(await verifyRecord(input));
    assert.deepEqual(batchResults, single);
    assert.equal(new Set(askedInBatch).size, askedInBatch.length, 'each root asked once');
    const statuses = new Set(batchResults.map((r) => (r.status === 'verified' ? 'verified' : r.reason)));
    assert.deepEqual([...statuses].sort(), ['content-changed', 'proof-invalid', 'root-unknown', 'verified']);
  });
});
