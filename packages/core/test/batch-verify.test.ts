import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
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

const HOSPITAL = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const OTHER_HOSPITAL = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

describe('verifyRecords', () => {
  it('gives verifyRecord’s result for each record of a mixed list, asking the chain once per root', async () => {
    const inputs: VerifyRecordInput[] = [];
    const asked: string[] = [];
    const anchoredRoots = new Set<string>();
    for (let batch = 0; batch < 3; batch++) {
      const resources = Array.from({ length: 20 }, (_, i) => ({
        resourceType: 'Observation',
        id: `b${batch}-o${i}`,
        status: 'final',
        valueInteger: i,
      }));
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
      if (batch !== 2) anchoredRoots.add(tree.root);
      // Batch 1 was anchored by another hospital than the one its records are attributed to.
      const anchoredBy = async (root: Hex) => {
        asked.push(root);
        return anchoredRoots.has(root) ? (batch === 1 ? OTHER_HOSPITAL : HOSPITAL) : null;
      };
      resources.forEach((r, i) => {
        const kind = i % 5;
        inputs.push({
          resource: kind === 1 ? { ...r, valueInteger: 99 } : r,
          leaf: leaves[i]!,
          proof: kind === 2 ? tree.proof((i + 1) % 20) : tree.proof(i),
          root: tree.root,
          subject: kind === 3 ? randomSalt() : leaves[i]!.subject,
          hospital: HOSPITAL,
          anchoredBy,
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
    assert.deepEqual([...statuses].sort(), [
      'content-changed',
      'hospital-mismatch',
      'proof-invalid',
      'root-unknown',
      'subject-mismatch',
      'verified',
    ]);
  });

  it('gives verifyRecord’s result when proofs share levels: forged nodes, swapped or altered siblings, other roots, JSON copies', async () => {
    // Two batches; records of both in one list, so the shared-walk memo sees the same sibling
    // strings with other nodes, tails and roots. Every answer must equal verifyRecord's alone.
    const batches: {
      resources: { resourceType: string; id: string; status: string; valueInteger: number }[];
      leaves: LeafInput[];
      tree: ReturnType<typeof buildTree>;
    }[] = [];
    for (let b = 0; b < 2; b++) {
      const resources = Array.from({ length: 37 }, (_, i) => ({
        resourceType: 'Observation',
        id: `m${b}-${i}`,
        status: 'final',
        valueInteger: i,
      }));
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
      batches.push({ resources, leaves, tree });
    }
    const flip = (h: Hex, at: number): Hex =>
      `${h.slice(0, at)}${h[at] === '0' ? '1' : '0'}${h.slice(at + 1)}` as Hex;
    const record = fc.record({
      batch: fc.integer({ min: 0, max: 1 }),
      index: fc.integer({ min: 0, max: 36 }),
      change: fc.constantFrom(
        'none',
        'none',
        'none',
        'json-copy',
        'uppercase',
        'other-proof',
        'other-root',
        'flip-sibling',
        'drop-sibling',
        'extra-sibling',
        'swap-siblings',
        'forged-leaf',
        'bad-hex',
        'content',
        'root-missing',
        'root-uppercase',
        'root-bad-hex',
        'empty-proof',
        'other-subject',
        'other-hospital',
        'not-anchored',
      ),
      at: fc.integer({ min: 0, max: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 2, maxLength: 40 }), async (picks) => {
        const inputs: VerifyRecordInput[] = picks.map(({ batch, index, change, at }) => {
          const { resources, leaves, tree } = batches[batch]!;
          let proof: Hex[] = tree.proof(index);
          let root: Hex = tree.root;
          let leaf = leaves[index]!;
          let resource: unknown = resources[index];
          const level = at % Math.max(1, proof.length);
          if (change === 'json-copy') proof = JSON.parse(JSON.stringify(proof)) as Hex[];
          if (change === 'uppercase') proof = proof.map((h) => `0x${h.slice(2).toUpperCase()}` as Hex);
          if (change === 'other-proof') proof = tree.proof((index + 1 + at) % 37);
          if (change === 'other-root') root = batches[1 - batch]!.tree.root;
          if (change === 'flip-sibling') proof = proof.map((h, i) => (i === level ? flip(h, 2 + at) : h));
          if (change === 'drop-sibling') proof = proof.filter((_, i) => i !== level);
          if (change === 'extra-sibling') proof = [...proof, randomSalt()];
          if (change === 'swap-siblings')
            proof = proof.map(
              (h, i) =>
                proof[
                  i === level ? (level + 1) % proof.length : i === (level + 1) % proof.length ? level : i
                ]!,
            );
          if (change === 'forged-leaf') leaf = { ...leaf, salt: randomSalt() };
          if (change === 'bad-hex')
            proof = proof.map((h, i) => (i === level ? (`${h.slice(0, 10)}zz${h.slice(12)}` as Hex) : h));
          if (change === 'root-missing') root = undefined as unknown as Hex;
          if (change === 'root-uppercase') root = `0x${root.slice(2).toUpperCase()}` as Hex;
          if (change === 'root-bad-hex') root = `${root.slice(0, 20)}g${root.slice(21)}` as Hex;
          if (change === 'empty-proof') proof = [];
          if (change === 'content') resource = { ...resources[index], valueInteger: -1 };
          const subject =
            change === 'other-subject' ? batches[1 - batch]!.leaves[index]!.subject : leaf.subject;
          const anchoredBy =
            change === 'other-hospital' ? OTHER_HOSPITAL : change === 'not-anchored' ? null : HOSPITAL;
          return { resource, leaf, proof, root, subject, hospital: HOSPITAL, anchoredBy };
        });
        const single = [];
        for (const input of inputs) single.push(await verifyRecord(input));
        assert.deepEqual(await verifyRecords(inputs), single);
      }),
      { numRuns: 300 },
    );
  });
});
