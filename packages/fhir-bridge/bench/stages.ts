/**
 * `npm run bench:stages -w packages/fhir-bridge`: CPU cost of each write-side stage per resource,
 * measured in this one process on the bench's resources (no Kubo, no chain), so the end-to-end
 * bench's throughput can be read against a per-stage budget. EHR_STAGES_N resources (default 20,000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTree,
  generateHospitalKey,
  generatePseudonymKey,
  leafHash,
  randomSalt,
  recordAad,
  type Hex,
} from '@ehr-anchor/core';
import { parseBasePush, parseJson } from '../src/ingest/parse.js';
import { proofOf } from '../src/pipeline/pipeline.js';
import { prepareResource } from '../src/ingest/prepare.js';
import { SqliteOutbox } from '../src/outbox/sqlite.js';
import { cidV1String, sealForHospital } from '../src/pipeline/fast-crypto.js';
import { fileBlocks } from '../src/pipeline/ipfs.js';
import { resourceAt } from './lib.js';

const N = Number(process.env.EHR_STAGES_N ?? 20_000);
const resources = Array.from({ length: N }, (_, i) => resourceAt('stage', i));
const rows: [string, number][] = [];
function stage<T>(name: string, fn: () => T): T {
  const t0 = process.cpuUsage();
  const out = fn();
  const d = process.cpuUsage(t0);
  rows.push([name, (d.user + d.system) / N]);
  return out;
}
async function stageAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = process.cpuUsage();
  const out = await fn();
  const d = process.cpuUsage(t0);
  rows.push([name, (d.user + d.system) / N]);
  return out;
}

const BUNDLE = 1000;
const bodies = stage('load generator: JSON.stringify bundles', () => {
  const out: Buffer[] = [];
  for (let i = 0; i < N; i += BUNDLE)
    out.push(
      Buffer.from(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'collection',
          entry: resources.slice(i, i + BUNDLE).map((resource) => ({ resource })),
        }),
      ),
    );
  return out;
});
const avg = bodies.reduce((a, b) => a + b.length, 0) / N;
const pushes = stage('ingest: JSON.parse + parse Bundle', () =>
  bodies.map((b) => parseBasePush(parseJson(b))),
);
const pseudonymKey = generatePseudonymKey();
const versions = await stageAsync('ingest: canonicalize + hash + pseudonym + body', async () => {
  const out = [];
  for (const p of pushes)
    for (const item of p.items)
      if (item.kind === 'resource') out.push(await prepareResource('bench', item.resource, pseudonymKey));
  return out;
});
const dir = await mkdtemp(join(tmpdir(), 'ehr-stages-'));
const outbox = new SqliteOutbox(join(dir, 'outbox.db'));
await outbox.init();
await stageAsync('outbox: enqueue (1 tx / 1,000)', async () => {
  for (let i = 0; i < versions.length; i += BUNDLE) await outbox.enqueue(versions.slice(i, i + BUNDLE));
});
const received = await stageAsync('outbox: claimReceived', async () => {
  const out = [];
  for (;;) {
    const r = await outbox.claimReceived(5000, 60_000);
    if (!r.length) return out;
    out.push(...r);
  }
});
const key = generateHospitalKey();
const sealed = stage('store: seal envelope (node:crypto)', () =>
  received.map((r) =>
    sealForHospital(
      r.body,
      recordAad({ resourceType: r.resourceType, resourceId: r.resourceId, versionId: r.versionId }),
      key,
    ),
  ),
);
const cids = await stageAsync('store: CID (+ chunking > 256 KiB)', async () => {
  const out = [];
  for (const e of sealed) out.push(cidV1String((await fileBlocks(e)).cid));
  return out;
});
const updates = stage('store: salt + leaf hash', () =>
  received.map((r, i) => {
    const salt = randomSalt();
    const leaf = leafHash({
      subject: r.subject as Hex,
      resourceType: r.resourceType,
      resourceId: r.resourceId,
      versionId: r.versionId,
      contentHash: r.contentHash as Hex,
      payloadCid: cids[i]!,
      salt,
    });
    return { seq: r.seq, cid: cids[i]!, salt, leaf, keyId: key.keyId };
  }),
);
await stageAsync('outbox: markStored', async () => {
  for (let i = 0; i < updates.length; i += 5000) await outbox.markStored(updates.slice(i, i + 5000));
});
const trees = stage('batch: Merkle tree + proofs (5,000 / batch)', () => {
  const out = [];
  for (let i = 0; i < updates.length; i += 5000) {
    const members = updates.slice(i, i + 5000);
    const tree = buildTree(members.map((m) => m.leaf as Hex));
    out.push({ root: tree.root, members: members.map((m, j) => ({ seq: m.seq, proof: proofOf(tree, j) })) });
  }
  return out;
});
const ids = await stageAsync('outbox: claimStored + createBatch', async () => {
  const out = [];
  for (const t of trees) {
    await outbox.claimStored(5000, 60_000);
    out.push(await outbox.createBatch({ root: t.root, manifestCid: 'bafk', members: t.members }));
  }
  return out;
});
await stageAsync('outbox: markBatchAnchored', async () => {
  for (const id of ids) await outbox.markBatchAnchored(id, 1);
});
await outbox.close();
await rm(dir, { recursive: true, force: true });
console.log(`${N.toLocaleString('en-US')} resources, ${Math.round(avg)} bytes each on average (JSON)`);
const w = Math.max(...rows.map((r) => r[0].length));
for (const [name, us] of rows)
  console.log(`  ${name.padEnd(w)} ${us.toFixed(1).padStart(7)} µs CPU / resource`);
console.log(
  `  ${'total'.padEnd(w)} ${rows
    .reduce((a, r) => a + r[1], 0)
    .toFixed(1)
    .padStart(7)} µs CPU / resource`,
);
