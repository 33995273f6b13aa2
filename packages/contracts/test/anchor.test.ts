/**
 * Anchors: only a registered hospital's bridge signer anchors; proofs built by @ehr-anchor/core (and,
 * independently, OpenZeppelin's StandardMerkleTree) verify on chain against anchored roots only; gas
 * per batch does not grow with the batch or with the number of hospitals, doctors and patients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  LEAF_TYPES,
  buildTree,
  contentHash,
  leafHash,
  leafTuple,
  pseudonym,
  rawCid,
  type LeafInput,
} from '@ehr-anchor/core';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { getBytes, keccak256, toUtf8Bytes } from 'ethers';
import { attempt, extraKey, send, setUpNetwork, startChain, type Chain } from './fixture.js';

const MANIFEST_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
const saltOf = (i: number) => keccak256(toUtf8Bytes(`salt ${i}`)) as `0x${string}`;

/** Leaves of the first fixture bundle's resources, as the bridge makes them (pseudonymous subject, salted). */
async function fixtureLeaves(limit: number): Promise<LeafInput[]> {
  const bundle = [...loadSyntheaBundles().values()][0]!;
  const key = new Uint8Array(32).fill(7);
  const patientId = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!.id!;
  const subject = await pseudonym(patientId, key);
  const leaves: LeafInput[] = [];
  for (const [i, entry] of bundle.entry!.slice(0, limit).entries()) {
    const resource = entry.resource!;
    const hash = await contentHash(resource);
    leaves.push({
      subject,
      resourceType: resource.resourceType,
      resourceId: resource.id ?? `r${i}`,
      versionId: '1',
      contentHash: hash,
      payloadCid: await rawCid(toUtf8Bytes(hash)), // stands in for the envelope's CID
      salt: saltOf(i),
    });
  }
  return leaves;
}

describe('anchors and proofs', () => {
  let chain: Chain;
  let leaves: LeafInput[];
  before(async () => {
    chain = await startChain();
    await setUpNetwork(chain);
    leaves = await fixtureLeaves(64);
  });
  after(() => chain.stop());

  it('verifies every leaf of an anchored batch with proofs built by @ehr-anchor/core', () =>
    chain.isolated(async () => {
      const hashes = leaves.map(leafHash);
      const tree = buildTree(hashes);
      const receipt = await send(
        chain.actors.bridge.registry,
        'anchor',
        tree.root,
        MANIFEST_CID,
        hashes.length,
      );
      const block = await chain.provider.getBlock(receipt.blockNumber);
      const [hospital, timestamp, count] = await chain.reader.getFunction('anchorOf')(tree.root);
      assert.deepEqual(
        [hospital, Number(timestamp), Number(count)],
        [chain.actors.hospital.address, block!.timestamp, hashes.length],
      );
      const verify = chain.reader.getFunction('verifyLeaf');
      const results = await Promise.all(hashes.map((h, i) => verify(tree.root, h, tree.proof(i))));
      assert.deepEqual(
        results,
        hashes.map(() => true),
      );
    }));

  it('computes the same leaf hash on chain as @ehr-anchor/core and StandardMerkleTree', async () => {
    const tuples = leaves.slice(0, 8).map(leafTuple);
    const oz = StandardMerkleTree.of(tuples, [...LEAF_TYPES]);
    for (const [i, leaf] of leaves.slice(0, 8).entries()) {
      const onChain = await chain.reader.getFunction('recordLeaf')(...leafTuple(leaf));
      assert.equal(onChain, leafHash(leaf));
      assert.equal(onChain, oz.leafHash(tuples[i]!));
    }
    assert.equal(buildTree(leaves.slice(0, 8).map(leafHash)).root, oz.root);
  });

  it('verifies several leaves at once with a StandardMerkleTree multiproof', () =>
    chain.isolated(async () => {
      const tuples = leaves.map(leafTuple);
      const oz = StandardMerkleTree.of(tuples, [...LEAF_TYPES]);
      await send(chain.actors.otherBridge.registry, 'anchor', oz.root, MANIFEST_CID, tuples.length);
      const multi = oz.getMultiProof([0, 5, 17, 63]);
      const leafHashes = multi.leaves.map((v) => oz.leafHash(v));
      assert.equal(
        await chain.reader.getFunction('verifyLeaves')(oz.root, leafHashes, multi.proof, multi.proofFlags),
        true,
      );
      const tampered = [...leafHashes];
      tampered[1] = keccak256(toUtf8Bytes('tampered'));
      assert.equal(
        await chain.reader.getFunction('verifyLeaves')(oz.root, tampered, multi.proof, multi.proofFlags),
        false,
      );
    }));

  it('rejects a tampered leaf, a wrong proof and a root that was never anchored', () =>
    chain.isolated(async () => {
      const hashes = leaves.map(leafHash);
      const tree = buildTree(hashes);
      const verify = chain.reader.getFunction('verifyLeaf');
      assert.equal(
        await verify(tree.root, hashes[3], tree.proof(3)),
        false,
        'valid proof, but the root is not anchored',
      );
      await send(chain.actors.bridge.registry, 'anchor', tree.root, MANIFEST_CID, hashes.length);
      const changed = leafHash({ ...leaves[3]!, versionId: '2' });
      assert.equal(await verify(tree.root, changed, tree.proof(3)), false, 'a changed record');
      assert.equal(await verify(tree.root, hashes[3], tree.proof(4)), false, 'another leaf’s proof');
      assert.equal(await verify(tree.root, hashes[3], tree.proof(3)), true);
    }));

  it('refuses zero roots, empty batches, empty manifests and anchoring a root twice', () =>
    chain.isolated(async () => {
      const bridge = chain.actors.bridge.registry;
      const root = keccak256(toUtf8Bytes('root'));
      const errors = [
        await attempt(bridge, 'anchor', '0x' + '00'.repeat(32), MANIFEST_CID, 1),
        await attempt(bridge, 'anchor', root, MANIFEST_CID, 0),
        await attempt(bridge, 'anchor', root, '', 1),
        await attempt(bridge, 'anchor', root, MANIFEST_CID, 1),
        await attempt(chain.actors.otherBridge.registry, 'anchor', root, MANIFEST_CID, 5),
      ].map((o) => (o.ok ? 'ok' : [o.error, ...o.args]));
      assert.deepEqual(errors, [
        ['ZeroRoot'],
        ['EmptyBatch'],
        ['EmptyManifestCid'],
        'ok',
        ['RootAlreadyAnchored', root],
      ]);
    }));

  it('accepts anchors only from the current bridge signer after a key rotation', () =>
    chain.isolated(async () => {
      const rotated = chain.actor(extraKey('rotated bridge A'));
      await send(chain.actors.hospital.registry, 'setBridgeSigner', rotated.address);
      const old = await attempt(
        chain.actors.bridge.registry,
        'anchor',
        keccak256(toUtf8Bytes('r1')),
        MANIFEST_CID,
        1,
      );
      assert.deepEqual(old.ok ? 'ok' : [old.error, ...old.args], [
        'NotBridgeSigner',
        chain.actors.bridge.address.toLowerCase(),
      ]);
      const fresh = await attempt(rotated.registry, 'anchor', keccak256(toUtf8Bytes('r1')), MANIFEST_CID, 1);
      assert.ok(fresh.ok && fresh.events.includes('Anchored'));
      const events = await chain.reader.queryFilter(
        chain.reader.filters.Anchored!(null, chain.actors.hospital.address),
      );
      assert.equal(events.length, 1);
    }));

  it('costs the same gas per batch whatever the batch size and the number of hospitals, doctors and patients', () =>
    chain.isolated(async () => {
      const bridge = chain.actors.bridge.registry;
      // Execution gas: gasUsed without the intrinsic 21,000 and the calldata bytes (4 per zero, 16 per other byte).
      const gas = async (label: string, count: number) => {
        const receipt = await send(bridge, 'anchor', keccak256(toUtf8Bytes(label)), MANIFEST_CID, count);
        const data = getBytes((await chain.provider.getTransaction(receipt.hash))!.data);
        const calldata = data.reduce((sum, byte) => sum + (byte === 0 ? 4 : 16), 0);
        return Number(receipt.gasUsed) - 21_000 - calldata;
      };
      const one = await gas('a', 1);
      const baseline = await gas('b', 10_000);
      for (let i = 0; i < 10; i++) {
        const h = chain.actor(extraKey(`crowd hospital ${i}`));
        const b = chain.actor(extraKey(`crowd bridge ${i}`));
        await send(chain.actors.admin.registry, 'addHospital', h.address, b.address, '0x01', `Crowd ${i}`);
        await send(
          h.registry,
          'addDoctor',
          chain.actor(extraKey(`crowd doctor ${i}`)).address,
          `Dr. Crowd ${i}`,
        );
        const p = chain.actor(extraKey(`crowd patient ${i}`));
        await send(
          p.registry,
          'requestRegistration',
          h.address,
          keccak256(toUtf8Bytes(`crowd subject ${i}`)),
        );
        await send(h.registry, 'approveRegistration', p.address);
        await send(p.registry, 'grantAccess', h.address, 1, 2n ** 40n);
      }
      const crowded = await gas('c', 10_000);
      assert.equal(one, baseline, 'a batch of 1 and of 10,000 cost the same execution gas');
      assert.equal(crowded, baseline, '10 more hospitals, doctors and patients do not change it');
    }));
});
