/**
 * The store step's chunk sealing gives the same, checkable result in a worker thread and on the
 * calling thread: one CARv1 whose root links every envelope in order, every block's CID the hash of
 * its bytes, envelopes that core opens to the original body, leaves that recompute. Also the SQLite
 * outbox's packed proof encoding.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as dagCbor from '@ipld/dag-cbor';
import { generateHospitalKey, leafHash, openEnvelope, recordAad, type Hex } from '@ehr-anchor/core';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { decode as varint, encodingLength } from 'uint8-varint';
import { decodeProof, encodeProof } from '../src/outbox/schema.js';
import type { ChunkRecord } from '../src/pipeline/seal-chunk.js';
import { SealPool } from '../src/pipeline/seal-pool.js';

/** Every block of a CARv1, and its roots. */
function readCar(car: Uint8Array): { roots: CID[]; blocks: Map<string, { cid: CID; bytes: Uint8Array }> } {
  let at = 0;
  const next = () => {
    const len = varint(car, at);
    at += encodingLength(len);
    const slice = car.subarray(at, at + len);
    at += len;
    return slice;
  };
  const header = dagCbor.decode<{ version: number; roots: CID[] }>(next());
  assert.equal(header.version, 1);
  const blocks = new Map<string, { cid: CID; bytes: Uint8Array }>();
  while (at < car.length) {
    const section = next();
    const [cid, bytes] = CID.decodeFirst(section);
    blocks.set(cid.toString(), { cid, bytes });
  }
  return { roots: header.roots, blocks };
}

describe('seal pool (worker thread and inline)', () => {
  const key = generateHospitalKey();
  const resources = [...loadSyntheaBundles().values()]
    .flatMap((b) => b.entry!.map((e) => e.resource!))
    .slice(0, 150);
  // One body over Kubo's 256 KiB chunk: a multi-block file inside the same CAR.
  const big = {
    resourceType: 'Binary',
    id: 'big-1',
    contentType: 'text/plain',
    data: 'QUJD'.repeat(100_000),
  };
  const all = [...resources, big] as { resourceType: string; id?: string }[];
  const records: ChunkRecord[] = all.map((r, i) => ({
    seq: i + 1,
    resourceType: r.resourceType,
    resourceId: r.id!,
    versionId: '1',
    subject: `0x${'11'.repeat(32)}`,
    contentHash: `0x${(i + 1).toString(16).padStart(64, '0')}`,
  }));
  const bodies = all.map((r) => new TextEncoder().encode(JSON.stringify(r)));
  const pools = [new SealPool(1), new SealPool(0)];
  after(async () => {
    for (const p of pools) await p.close();
  });

  for (const [i, name] of ['a worker thread', 'the calling thread'].entries()) {
    it(`on ${name}: one CAR, root linking every envelope, blocks hash to their CIDs, envelopes open, leaves recompute`, async () => {
      const given = bodies.map((b) => b.slice());
      const chunk = await pools[i]!.seal('chunk', records, given, key);
      // The plaintext handed in is wiped once sealed: its own buffers are released (detached), and
      // anything sharing a buffer is zeroed.
      for (const b of given)
        assert.ok(
          b.byteLength === 0 || b.every((x) => x === 0),
          'the plaintext body was wiped after sealing',
        );
      assert.ok(
        given.some((b) => b.buffer.detached),
        'bodies with their own buffer go back to the allocator at once',
      );
      const { roots, blocks } = readCar(chunk.car);
      assert.deepEqual(roots.map(String), [chunk.root]);
      const root = dagCbor.decode<{ format: string; links: CID[] }>(blocks.get(chunk.root)!.bytes);
      assert.equal(root.format, 'ehr-anchor-chunk/v1');
      assert.deepEqual(
        root.links.map(String),
        chunk.records.map((r) => r.cid),
      );
      for (const { cid, bytes } of blocks.values()) {
        assert.deepEqual(
          cid.multihash.digest,
          (await sha256.digest(bytes)).digest,
          `block ${cid.toString()} hashes to its CID`,
        );
      }
      assert.equal(new Set(chunk.records.map((r) => r.salt)).size, records.length, 'a fresh salt per record');
      for (const [j, r] of chunk.records.entries()) {
        const input = records[j]!;
        assert.equal(r.seq, input.seq);
        assert.ok(blocks.has(r.cid), 'the envelope is in the CAR');
        assert.equal(
          r.leaf,
          leafHash({
            subject: input.subject as Hex,
            resourceType: input.resourceType,
            resourceId: input.resourceId,
            versionId: input.versionId,
            contentHash: input.contentHash as Hex,
            payloadCid: r.cid,
            salt: r.salt as Hex,
          }),
        );
        const cid = CID.parse(r.cid);
        if (input.resourceType === 'Binary') {
          assert.equal(cid.code, 0x70, 'a file over 256 KiB is a dag-pb root over raw chunks');
          continue;
        }
        assert.equal(cid.code, 0x55);
        const aad = recordAad({
          resourceType: input.resourceType,
          resourceId: input.resourceId,
          versionId: input.versionId,
        });
        assert.deepEqual(await openEnvelope(blocks.get(r.cid)!.bytes, { aad, key }), bodies[j]);
      }
    });
  }
});

describe('seal pool fallback', () => {
  it('a worker that cannot start fails its chunk (to be retried); the pool then seals inline', async () => {
    const pool = new SealPool(1, new URL('./no-such-seal-worker.js', import.meta.url));
    const key = generateHospitalKey();
    const record: ChunkRecord = {
      seq: 1,
      resourceType: 'Observation',
      resourceId: 'o-1',
      versionId: '1',
      subject: `0x${'11'.repeat(32)}`,
      contentHash: `0x${'22'.repeat(32)}`,
    };
    const body = () => [new TextEncoder().encode('{"resourceType":"Observation","id":"o-1"}')];
    try {
      await assert.rejects(pool.seal('chunk', [record], body(), key));
      const chunk = await pool.seal('chunk', [record], body(), key);
      assert.equal(chunk.records.length, 1);
      assert.ok(readCar(chunk.car).blocks.has(chunk.records[0]!.cid));
    } finally {
      await pool.close();
    }
  });
});

describe('SQLite proof packing', () => {
  it('packs 32-byte hex nodes and reads them back; anything else stays JSON', () => {
    const proof = [`0x${'ab'.repeat(32)}`, `0x${'01'.repeat(32)}`];
    const packed = encodeProof(proof);
    assert.ok(packed instanceof Uint8Array);
    assert.equal(packed.length, 64);
    assert.deepEqual(decodeProof(packed), proof);
    assert.equal((encodeProof([]) as Uint8Array).length, 0);
    for (const odd of [['0x12'], [`0x${'zz'.repeat(32)}`], [`${'ab'.repeat(33)}`]])
      assert.equal(encodeProof(odd), JSON.stringify(odd));
  });
});
