import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTree,
  contentHash,
  leafHash,
  randomSalt,
  verifyRecord,
  type Hex,
  type LeafInput,
} from '../src/index.js';

/** The patient of the batch (pseudonym) and the hospital that anchored it. */
const SUBJECT = randomSalt();
const HOSPITAL = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const OTHER_HOSPITAL = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
/** What the reader expects and what the chain says: the same patient, anchored by the same hospital. */
const AS_EXPECTED = { subject: SUBJECT, hospital: HOSPITAL, anchoredBy: HOSPITAL } as const;

async function anchoredBatch() {
  const resources = Array.from({ length: 5 }, (_, i) => ({
    resourceType: 'Observation',
    id: `obs-${i}`,
    meta: { versionId: '1' },
    status: 'final',
    valueQuantity: { value: 70 + i, unit: 'kg' },
  }));
  const leaves: LeafInput[] = [];
  for (const r of resources) {
    leaves.push({
      subject: SUBJECT,
      resourceType: r.resourceType,
      resourceId: r.id,
      versionId: r.meta.versionId,
      contentHash: await contentHash(r),
      payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
      salt: randomSalt(),
    });
  }
  const tree = buildTree(leaves.map(leafHash));
  return { resources, leaves, tree };
}

describe('verifyRecord', () => {
  it('verifies an anchored, unchanged resource', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const result = await verifyRecord({
      resource: resources[2],
      leaf: leaves[2]!,
      proof: tree.proof(2),
      root: tree.root,
      subject: SUBJECT,
      hospital: HOSPITAL,
      anchoredBy: (r) => (r === tree.root ? HOSPITAL : null),
    });
    assert.equal(result.status, 'verified');
  });

  it('answers the lowercase leaf and content hashes, also for a leaf whose hex is uppercase', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const upper = {
      ...leaves[3]!,
      contentHash: `0x${leaves[3]!.contentHash.slice(2).toUpperCase()}` as Hex,
      salt: `0x${leaves[3]!.salt.slice(2).toUpperCase()}` as Hex,
    };
    for (const leaf of [leaves[3]!, upper]) {
      const result = await verifyRecord({
        resource: resources[3],
        leaf,
        proof: tree.proof(3),
        root: tree.root,
        ...AS_EXPECTED,
      });
      assert.deepEqual(result, {
        status: 'verified',
        leafHash: leafHash(leaves[3]!),
        contentHash: await contentHash(resources[3]),
      });
    }
    const edited = await verifyRecord({
      resource: { ...resources[3]!, status: 'amended' },
      leaf: upper,
      proof: tree.proof(3),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.ok(
      edited.status === 'tampered' &&
        edited.reason === 'content-changed' &&
        edited.detail.includes(await contentHash({ ...resources[3]!, status: 'amended' })),
    );
  });

  // Record model v1: meta and the narrative (text) are outside the content hash, which is why
  // <ehr-viewer> never shows the narrative under a Verified badge (see the README's record model).
  it('still verifies after only meta/text changed', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const shown = {
      ...resources[0]!,
      meta: { versionId: '1', lastUpdated: '2030-01-01T00:00:00Z' },
      text: { status: 'generated', div: '<div/>' },
    };
    assert.equal(
      (
        await verifyRecord({
          resource: shown,
          leaf: leaves[0]!,
          proof: tree.proof(0),
          root: tree.root,
          ...AS_EXPECTED,
        })
      ).status,
      'verified',
    );
  });

  it('reports content-changed when a value was edited', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const edited = { ...resources[1]!, valueQuantity: { value: 999, unit: 'kg' } };
    const result = await verifyRecord({
      resource: edited,
      leaf: leaves[1]!,
      proof: tree.proof(1),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.deepEqual(
      [result.status, result.status === 'tampered' && result.reason],
      ['tampered', 'content-changed'],
    );
  });

  it('reports identity-mismatch when a resource is shown under another version', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const result = await verifyRecord({
      resource: { ...resources[1]!, meta: { versionId: '2' } },
      leaf: leaves[1]!,
      proof: tree.proof(1),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.equal(result.status === 'tampered' && result.reason, 'identity-mismatch');
  });

  it('reports proof-invalid for another leaf’s proof or a forged leaf', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const wrongProof = await verifyRecord({
      resource: resources[1],
      leaf: leaves[1]!,
      proof: tree.proof(2),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.equal(wrongProof.status === 'tampered' && wrongProof.reason, 'proof-invalid');
    const forged = await verifyRecord({
      resource: resources[1],
      leaf: { ...leaves[1]!, salt: randomSalt() },
      proof: tree.proof(1),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.equal(forged.status === 'tampered' && forged.reason, 'proof-invalid');
  });

  it('reports root-unknown when the chain does not know the root', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    const result = await verifyRecord({
      resource: resources[3],
      leaf: leaves[3]!,
      proof: tree.proof(3),
      root: tree.root,
      subject: SUBJECT,
      hospital: HOSPITAL,
      anchoredBy: async () => null,
    });
    assert.equal(result.status === 'tampered' && result.reason, 'root-unknown');
  });

  it('reports subject-mismatch for another patient’s genuine record, shown as this patient’s', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    // Everything about the record is genuine and anchored: only the patient differs.
    const result = await verifyRecord({
      resource: resources[2],
      leaf: leaves[2]!,
      proof: tree.proof(2),
      root: tree.root,
      subject: randomSalt(),
      hospital: HOSPITAL,
      anchoredBy: HOSPITAL,
    });
    assert.equal(result.status === 'tampered' && result.reason, 'subject-mismatch');
    // The same subject in other letter case is the same subject.
    const upper = await verifyRecord({
      resource: resources[2],
      leaf: leaves[2]!,
      proof: tree.proof(2),
      root: tree.root,
      ...AS_EXPECTED,
      subject: `0x${SUBJECT.slice(2).toUpperCase()}` as Hex,
    });
    assert.equal(upper.status, 'verified');
  });

  it('reports hospital-mismatch when the chain says another hospital anchored the root', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    let asked = 0;
    const result = await verifyRecord({
      resource: resources[4],
      leaf: leaves[4]!,
      proof: tree.proof(4),
      root: tree.root,
      subject: SUBJECT,
      hospital: HOSPITAL,
      anchoredBy: async () => {
        asked++;
        return OTHER_HOSPITAL;
      },
    });
    assert.equal(asked, 1);
    assert.ok(
      result.status === 'tampered' &&
        result.reason === 'hospital-mismatch' &&
        result.detail.includes(OTHER_HOSPITAL),
    );
    // Checksummed and lowercase spellings of one address are the same hospital.
    const lower = await verifyRecord({
      resource: resources[4],
      leaf: leaves[4]!,
      proof: tree.proof(4),
      root: tree.root,
      subject: SUBJECT,
      hospital: HOSPITAL.toLowerCase(),
      anchoredBy: HOSPITAL,
    });
    assert.equal(lower.status, 'verified');
  });

  it('reports malformed when the expected subject or hospital is not an id at all', async () => {
    const { resources, leaves, tree } = await anchoredBatch();
    for (const wrong of [
      { subject: '0x1234' as Hex },
      { subject: undefined as unknown as Hex },
      { hospital: 'General Hospital' },
      { hospital: '' },
    ]) {
      const result = await verifyRecord({
        resource: resources[0],
        leaf: leaves[0]!,
        proof: tree.proof(0),
        root: tree.root,
        ...AS_EXPECTED,
        ...wrong,
      });
      assert.equal(result.status === 'tampered' && result.reason, 'malformed', JSON.stringify(wrong));
    }
  });

  it('reports malformed for a non-resource or a broken leaf', async () => {
    const { leaves, tree } = await anchoredBatch();
    const notResource = await verifyRecord({
      resource: 'x',
      leaf: leaves[0]!,
      proof: tree.proof(0),
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.equal(notResource.status === 'tampered' && notResource.reason, 'malformed');
    const { resources } = await anchoredBatch();
    const badLeaf = await verifyRecord({
      resource: resources[0],
      leaf: { ...leaves[0]!, subject: '0x00' as Hex },
      proof: [],
      root: tree.root,
      ...AS_EXPECTED,
    });
    assert.equal(badLeaf.status === 'tampered' && badLeaf.reason, 'malformed');
  });
});
