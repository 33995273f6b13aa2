/** The bridge's node:crypto hot path produces exactly what packages/core defines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  contentHash,
  describeEnvelopeHeader,
  generateHospitalKey,
  generatePseudonymKey,
  openEnvelope,
  pseudonym,
  rawCid,
  recordAad,
} from '@ehr-anchor/core';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import {
  cidV1String,
  contentHashFast,
  pseudonymFast,
  rawCidFast,
  sealForHospital,
} from '../src/pipeline/fast-crypto.js';

describe('node:crypto hot path = packages/core', () => {
  const resources = [...loadSyntheaBundles().values()]
    .flatMap((b) => b.entry!.map((e) => e.resource!))
    .slice(0, 300);

  it('computes the same content hashes, pseudonyms and raw CIDs as core', async () => {
    const key = generatePseudonymKey();
    for (const r of resources) {
      assert.equal(contentHashFast(r), await contentHash(r));
      assert.equal(pseudonymFast(r.id!, key), await pseudonym(r.id!, key));
      const bytes = new TextEncoder().encode(JSON.stringify(r));
      assert.equal(rawCidFast(bytes).toString(), await rawCid(bytes));
    }
  });

  it('seals envelopes that core parses and opens, bound to the record identity', async () => {
    const key = generateHospitalKey();
    for (const r of resources.slice(0, 50)) {
      const aad = recordAad({ resourceType: r.resourceType, resourceId: r.id!, versionId: '1' });
      const plaintext = new TextEncoder().encode(JSON.stringify(r));
      const envelope = sealForHospital(plaintext, aad, key);
      const header = describeEnvelopeHeader(envelope);
      assert.equal(header.recipients.length, 1);
      assert.equal(header.recipients[0]!.kind, 'hospital');
      assert.equal(header.recipients[0]!.keyId, key.keyId.toLowerCase());
      assert.deepEqual(await openEnvelope(envelope, { aad, key }), plaintext);
      await assert.rejects(
        openEnvelope(envelope, {
          aad: recordAad({ resourceType: r.resourceType, resourceId: r.id!, versionId: '2' }),
          key,
        }),
      );
      const flipped = envelope.slice();
      flipped[flipped.length - 20]! ^= 1;
      await assert.rejects(openEnvelope(flipped, { aad, key }), /tampered/);
    }
  });
});

describe('CID strings', () => {
  it('cidV1String = multiformats toString for raw and dag-pb CIDs of any length', async () => {
    const { CID } = await import('multiformats/cid');
    for (let n = 0; n < 300; n++) {
      const bytes = new TextEncoder().encode('x'.repeat(n));
      const raw = rawCidFast(bytes);
      assert.equal(cidV1String(raw), raw.toString());
      const pb = CID.createV1(0x70, raw.multihash);
      assert.equal(cidV1String(pb), pb.toString());
    }
  });
});
