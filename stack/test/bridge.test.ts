/**
 * The `npm start` part: after the contracts part, the bridge starts with its SQLite outbox under
 * the stack's data dir, publishes `bridgeUrl`, loads the Synthea fixtures (here without a FHIR
 * server: POSTed straight to the bridge) and anchors them; a second start reuses everything. With
 * two hospitals, one bridge per hospital.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEV_KEYS,
  loadSyntheaBundles,
  startAnvil,
  startCluster,
  startKubo,
  waitFor,
  type Anvil,
  type Kubo,
  type KuboCluster,
} from '@ehr-anchor/testkit';
import { Wallet } from 'ethers';
import type { Bundle } from 'fhir/r4';
import { DEV_SOURCE_SECRET, startBridges, up } from '../src/bridge.js';
import type { StackContext, StackRow } from '../src/context.js';
import { up as contractsUp } from '../src/contracts.js';
import { bundlesFor } from '../src/hospital-fixtures.js';

function context(dir: string, rows: StackRow[], values: Record<string, string>): StackContext {
  return { dataDir: dir, values, row: (r) => rows.push(r), log: () => undefined };
}

/** Deploys the contracts and starts the bridge part on `values`; returns the table rows and the part. */
async function startParts(dir: string, values: Record<string, string>) {
  const rows: StackRow[] = [];
  await contractsUp(context(dir, rows, values));
  return { rows, part: await startBridges(context(dir, rows, values)) };
}

/** Distinct resources (Type/id) of some bundles: what a bridge anchors once each. */
function uniqueResources(bundles: Iterable<Bundle>): number {
  return new Set(
    [...bundles].flatMap((b) => b.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)),
  ).size;
}

/** The bridge's status with the outbox counts (the operator's view: the dev source credential). */
async function statusOf(bridgeUrl: string): Promise<{ records: Record<string, number> }> {
  const res = await fetch(`${bridgeUrl}/status`, {
    headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}` },
  });
  return (await res.json()) as { records: Record<string, number> };
}

describe('npm start part', () => {
  let dir: string;
  let anvil: Anvil;
  let kubo: Kubo;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-stack-'));
    [anvil, kubo] = await Promise.all([startAnvil(), startKubo()]);
    process.env.EHR_BRIDGE_PORT = '0';
  });
  after(async () => {
    delete process.env.EHR_BRIDGE_PORT;
    await Promise.all([anvil?.stop(), kubo?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'starts the bridge, publishes bridgeUrl and anchors the Synthea fixtures pushed through it',
    { timeout: 300_000 },
    async () => {
      const values: Record<string, string> = {
        rpcUrl: anvil.rpcUrl,
        chainId: '1337',
        ipfsApiUrl: kubo.apiUrl,
        ipfsGatewayUrl: kubo.gatewayUrl,
      };
      const { rows, part } = await startParts(dir, values);
      try {
        assert.match(values.bridgeUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(rows.some((r) => r.name === 'bridge' && r.url === values.bridgeUrl));
        const unique = uniqueResources(loadSyntheaBundles().values());
        await waitFor(async () => (await statusOf(values.bridgeUrl!)).records.anchored === unique, {
          timeoutMs: 240_000,
          intervalMs: 500,
          what: 'the fixtures anchored',
        });
        assert.equal((await fetch(`${values.bridgeUrl}/readyz`)).status, 200);
      } finally {
        await part?.stop?.();
      }
      // Restart: same outbox, fixtures not loaded again.
      const again = await up(context(dir, [], values));
      try {
        assert.equal((await statusOf(values.bridgeUrl!)).records.received, 0);
      } finally {
        await again?.stop?.();
      }
    },
  );
});

async function pins(apiUrl: string): Promise<Map<string, string>> {
  const res = await fetch(`${apiUrl}/api/v0/pin/ls?type=recursive&names=true`, { method: 'POST' });
  const { Keys } = (await res.json()) as { Keys: Record<string, { Name: string }> };
  return new Map(Object.entries(Keys).map(([cid, v]) => [cid, v.Name]));
}

/**
 * The two-hospital layout: two Kubo nodes in one private network, one bridge per hospital (here
 * without FHIR servers: fixtures POSTed straight to each bridge). Each bridge anchors its own
 * hospital's share of the Synthea patients — the shared patients' histories split between them —
 * and keeps a copy of every root on the other hospital's node.
 */
describe('npm start part with two hospitals', () => {
  let dir: string;
  let anvil: Anvil;
  let cluster: KuboCluster;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-stack2-'));
    [anvil, cluster] = await Promise.all([startAnvil(), startCluster({ nodes: 2 })]);
    process.env.EHR_BRIDGE_PORT = '0';
  });
  after(async () => {
    delete process.env.EHR_BRIDGE_PORT;
    await Promise.all([anvil?.stop(), cluster?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'runs a bridge per hospital, each anchoring its share of the patients with copies on the other node; with A’s IPFS node killed (kill -9) every record A anchored is still read, decrypted and verified, and nothing is lost',
    { timeout: 300_000 },
    async () => {
      const values: Record<string, string> = {
        rpcUrl: anvil.rpcUrl,
        chainId: '1337',
        hospitals: '2',
        ipfsApiUrl: cluster.nodes[0]!.apiUrl,
        ipfsApiUrlB: cluster.nodes[1]!.apiUrl,
      };
      const { rows, part } = await startParts(dir, values);
      try {
        assert.ok(values.bridgeUrl && values.bridgeUrlB && values.bridgeUrl !== values.bridgeUrlB);
        assert.deepEqual(
          rows.filter((r) => r.name.startsWith('bridge')).map((r) => r.name),
          ['bridge A', 'bridge B'],
          'the table shows both hospitals',
        );
        const all = loadSyntheaBundles();
        const share = bundlesFor(2, (s) => all.get(s)!);
        const [wantA, wantB] = [share.hospitalA, share.hospitalB].map((list) =>
          uniqueResources(list.map((b) => b.bundle)),
        );
        await waitFor(
          async () =>
            (await statusOf(values.bridgeUrl!)).records.anchored === wantA &&
            (await statusOf(values.bridgeUrlB!)).records.anchored === wantB,
          { timeoutMs: 240_000, intervalMs: 500, what: 'both hospitals’ fixtures anchored' },
        );
        // Each bridge's roots are pinned on the other hospital's node under that bridge's name.
        await waitFor(
          async () => {
            const [a, b] = await Promise.all(cluster.nodes.map((n) => pins(n.apiUrl)));
            const named = (m: Map<string, string>) =>
              [...m.values()].filter((n) => n.startsWith('ehr-anchor/')).length;
            const own = (m: Map<string, string>) => [...m.values()].filter((n) => n === '').length - 1; // less the empty directory
            return own(a!) > 0 && own(b!) > 0 && named(b!) === own(a!) && named(a!) === own(b!);
          },
          { timeoutMs: 60_000, intervalMs: 500, what: 'every root copied to the other node' },
        );

        // Reliability: hospital A's IPFS node dies (kill -9). Every record A anchored is still
        // fetched (from the copy on B's node), decrypted by A's bridge and verified against A's
        // anchor on chain; once A's node is back, every root has its two copies again: nothing lost.
        const bridgeA = part.bridges[0]!.app;
        const hospitalA = new Wallet(DEV_KEYS.hospitalA).address;
        const anchored = (await bridgeA.outbox.counts()).records.anchored;
        assert.equal(anchored, wantA);
        await cluster.kill(0);
        // Sequence numbers have gaps (a duplicate push takes one): look past the count.
        const infos = (
          await bridgeA.outbox.bySeq(Array.from({ length: anchored * 2 }, (_, i) => i + 1))
        ).filter((info) => info.state === 'anchored');
        assert.equal(infos.length, anchored, 'every anchored record is in A’s outbox');
        let read = 0;
        for (const info of infos) {
          const record = await bridgeA.read.side.records.read(info);
          assert.equal(record.state, 'anchored');
          assert.equal(record.resource.resourceType, info.resourceType);
          assert.equal(record.anchor?.hospital.toLowerCase(), hospitalA.toLowerCase(), 'anchored by A');
          read++;
        }
        assert.equal(read, anchored, `${read} of ${anchored} records read with A’s node down`);
        await cluster.restart(0);
        const report = await bridgeA.ipfs.replicator!.sweep();
        assert.equal(report.underReplicated, 0, 'no root left with fewer than two copies');
        assert.deepEqual(Object.keys(report.copies), ['2'], 'every root of A on both nodes');
      } finally {
        await part?.stop?.();
      }
    },
  );
});
