import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { processProof as ozProcessProof } from '@openzeppelin/merkle-tree/dist/core.js';
import { refuseKeccakWasmForTesting } from '../src/keccak-wasm.js';
import { AbiCoder } from 'ethers';
import {
  buildTree,
  encodeLeaf,
  LEAF_TYPES,
  leafHash,
  leafTuple,
  processProof,
  pseudonym,
  randomSalt,
  verifyProof,
  type Hex,
  type LeafInput,
} from '../src/index.js';

function sampleLeaf(i: number): LeafInput {
  return {
    subject: randomSalt(),
    resourceType: i % 3 === 0 ? 'Observation' : 'Condition',
    resourceId: `id-${i}-${'x'.repeat(i % 70)}-ünï`,
    versionId: String(i % 5),
    contentHash: randomSalt(),
    payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
    salt: randomSalt(),
  };
}

describe('record leaf', () => {
  it('ABI-encodes exactly like ethers AbiCoder', () => {
    for (let i = 0; i < 50; i++) {
      const leaf = sampleLeaf(i);
      const expected = AbiCoder.defaultAbiCoder().encode([...LEAF_TYPES], leafTuple(leaf));
      assert.equal(Buffer.from(encodeLeaf(leaf)).toString('hex'), expected.slice(2));
    }
  });

  it('hashes exactly like StandardMerkleTree.leafHash', () => {
    const leaves = Array.from({ length: 50 }, (_, i) => sampleLeaf(i));
    const oz = StandardMerkleTree.of(leaves.map(leafTuple), [...LEAF_TYPES]);
    leaves.forEach((leaf, i) => assert.equal(leafHash(leaf), oz.leafHash(leafTuple(leaf)), `leaf ${i}`));
  });

  it('refuses a malformed bytes32 field', () => {
    assert.throws(() => leafHash({ ...sampleLeaf(1), salt: '0x1234' }), TypeError);
    assert.throws(() => leafHash({ ...sampleLeaf(1), subject: 'nothex' as Hex }), TypeError);
  });

  it('pseudonymizes with HMAC-SHA-256: stable per key, different across keys', async () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const a = await pseudonym('patient-1', k1);
    assert.match(a, /^0x[0-9a-f]{64}$/);
    assert.equal(await pseudonym('patient-1', k1), a);
    assert.notEqual(await pseudonym('patient-1', k2), a);
    assert.notEqual(await pseudonym('patient-2', k1), a);
    const { createHmac } = await import('node:crypto');
    assert.equal(a, '0x' + createHmac('sha256', k1).update('patient-1').digest('hex'));
  });
});

describe('Merkle tree', () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 100, 257]) {
    it(`matches StandardMerkleTree.of for ${n} leaves: root, node layout and every proof`, () => {
      const leaves = Array.from({ length: n }, (_, i) => sampleLeaf(i));
      const oz = StandardMerkleTree.of(leaves.map(leafTuple), [...LEAF_TYPES]);
      const tree = buildTree(leaves.map(leafHash));
      assert.equal(tree.root, oz.root);
      assert.deepEqual(tree.nodes, oz.dump().tree);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(tree.proof(i), oz.getProof(i), `proof ${i}`);
        assert.ok(verifyProof(leafHash(leaves[i]!), tree.proof(i), tree.root));
        assert.ok(
          StandardMerkleTree.verify(tree.root, [...LEAF_TYPES], leafTuple(leaves[i]!), tree.proof(i)),
        );
      }
    });
  }

  it('keeps duplicate leaves in input order like OpenZeppelin (stable sort)', () => {
    const leaf = sampleLeaf(1);
    const other = sampleLeaf(2);
    const values = [leaf, other, leaf, leaf].map(leafTuple);
    const oz = StandardMerkleTree.of(values, [...LEAF_TYPES]);
    const tree = buildTree([leaf, other, leaf, leaf].map(leafHash));
    assert.equal(tree.root, oz.root);
    for (let i = 0; i < 4; i++) assert.deepEqual(tree.proof(i), oz.getProof(i));
  });

  it('matches OpenZeppelin on a 10,000-leaf batch', () => {
    const leaves = Array.from({ length: 10_000 }, (_, i) => sampleLeaf(i));
    const hashes = leaves.map(leafHash);
    const tree = buildTree(hashes);
    const oz = StandardMerkleTree.of(leaves.map(leafTuple), [...LEAF_TYPES]);
    assert.equal(tree.root, oz.root);
    for (const i of [0, 1, 4999, 9998, 9999]) assert.deepEqual(tree.proof(i), oz.getProof(i));
  });

  it('rejects a proof for another leaf, a shortened proof and a flipped sibling', () => {
    const leaves = Array.from({ length: 9 }, (_, i) => leafHash(sampleLeaf(i)));
    const tree = buildTree(leaves);
    const proof = tree.proof(3);
    assert.ok(verifyProof(leaves[3]!, proof, tree.root));
    assert.equal(verifyProof(leaves[4]!, proof, tree.root), false);
    assert.equal(verifyProof(leaves[3]!, proof.slice(1), tree.root), false);
    const flipped = [...proof];
    flipped[0] = (flipped[0]!.slice(0, -1) + (flipped[0]!.endsWith('0') ? '1' : '0')) as Hex;
    assert.equal(verifyProof(leaves[3]!, flipped, tree.root), false);
    assert.equal(verifyProof(leaves[3]!, ['0x12' as Hex], tree.root), false);
    assert.equal(processProof(leaves[3]!, proof), tree.root);
    const upper = (h: Hex) => ('0x' + h.slice(2).toUpperCase()) as Hex;
    assert.ok(
      verifyProof(upper(leaves[3]!), proof.map(upper), upper(tree.root)),
      'hex digits in either case',
    );
    assert.equal(
      verifyProof(leaves[3]!, proof, tree.root.replace('0x', '0X') as Hex),
      false,
      'only a 0x prefix',
    );
  });

  it('walks proofs longer than the WebAssembly input area (2,500 levels) like OpenZeppelin processProof, and in pure JS', () => {
    const leaf = randomSalt();
    const proof = Array.from({ length: 2500 }, () => randomSalt());
    const root = ozProcessProof(leaf, proof) as Hex;
    assert.equal(processProof(leaf, proof), root);
    assert.ok(verifyProof(leaf, proof, root));
    const flipped = [...proof];
    flipped[2200] = randomSalt(); // in the second batch of siblings
    assert.equal(verifyProof(leaf, flipped, root), false);
    // Injected fault: WebAssembly refused; the pure-JS path decides the same.
    refuseKeccakWasmForTesting(true);
    try {
      assert.ok(verifyProof(leaf, proof, root));
      assert.equal(verifyProof(leaf, flipped, root), false);
      assert.equal(processProof(leaf, proof), root);
    } finally {
      refuseKeccakWasmForTesting(false);
    }
  });

  it('refuses an empty batch and an out-of-range index', () => {
    assert.throws(() => buildTree([]), RangeError);
    assert.throws(() => buildTree([randomSalt()]).proof(1), RangeError);
  });
});
