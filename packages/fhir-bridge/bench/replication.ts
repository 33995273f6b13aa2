/**
 * Replication timings on a real two-node Kubo network (testkit startCluster) with a real bridge
 * (anvil, SQLite outbox): `npm run bench:replication -w packages/fhir-bridge`.
 *
 * Per run: push EHR_BENCH_REPL_N resources (collection Bundles of 100, one chunk root each with
 * storeChunk 100), then measure
 *   - anchor:    first push → everything anchored (for scale);
 *   - replicate: everything anchored → every root pinned on the peer (the background copies);
 *   - re-pin:    the peer loses every copy (unpinned + garbage-collected, as a node restored empty
 *                would be) → one sweep has pinned them all back (the peer fetches every block again);
 *   - recover:   the own node is killed (SIGKILL) and restarted → a sweep finds nothing to do;
 *   - sweep:     a sweep that finds every root at two copies (the steady-state cost).
 * Prints each run, then medians over EHR_BENCH_REPL_RUNS runs, with the load average.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, waitFor } from '@ehr-anchor/testkit';
import type { Bundle } from 'fhir/r4';
import { buildApp } from '../src/app.js';
import { recursivePins } from '../src/pipeline/replication.js';
import { push, startChain, testConfig, waitAnchored } from '../test/helpers.js';

const N = Number(process.env.EHR_BENCH_REPL_N ?? 5_000);
const RUNS = Number(process.env.EHR_BENCH_REPL_RUNS ?? 5);
const PIN_NAME = 'ehr-anchor/bench';

function observations(from: number, count: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: Array.from({ length: count }, (_, i) => ({
      resource: {
        resourceType: 'Observation',
        id: `bench-${from + i}`,
        meta: { versionId: '1' },
        status: 'final',
        code: { text: 'Heart rate' },
        subject: { reference: `Patient/bench-patient-${(from + i) % 50}` },
        valueQuantity: { value: 60 + ((from + i) % 40), unit: '/min' },
      },
    })),
  } as Bundle;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function run(i: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'ehr-repl-bench-'));
  const [chain, cluster] = await Promise.all([startChain(dir), startCluster({ nodes: 2 })]);
  const [own, peer] = cluster.nodes;
  const app = await buildApp(
    testConfig(
      join(dir, 'a'),
      { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile },
      own!.apiUrl,
      {
        ipfsPeers: [peer!.apiUrl],
        ipfsPinName: PIN_NAME,
        ipfsSweepMs: 0,
        storeChunk: 100,
        batchMax: 2_000,
        logLevel: 'warn',
      },
    ),
  );
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const replicator = app.ipfs.replicator!;
    const t0 = performance.now();
    for (let from = 0; from < N; from += 100)
      await push(url, '/fhir', observations(from, Math.min(100, N - from)));
    await waitAnchored(app, N, 600_000);
    const t1 = performance.now();
    await waitFor(() => replicator.pending === 0, {
      timeoutMs: 600_000,
      intervalMs: 20,
      what: 'replication',
    });
    const t2 = performance.now();
    const roots = [...(await recursivePins(peer!.apiUrl))].filter(([, n]) => n === PIN_NAME).map(([c]) => c);

    // The peer loses every copy.
    for (const cid of roots) await peer!.cli(['pin', 'rm', cid]);
    await peer!.cli(['repo', 'gc']);
    const t3 = performance.now();
    const repin = await replicator.sweep();
    const t4 = performance.now();
    if (repin.repinned !== roots.length || repin.underReplicated !== 0)
      throw new Error(`re-pin: ${JSON.stringify(repin)} for ${roots.length} roots`);

    // kill -9 of the own node, then back.
    await cluster.kill(0);
    await cluster.restart(0);
    const t5 = performance.now();
    const after = await replicator.sweep();
    const t6 = performance.now();
    if (after.repinned !== 0 || after.underReplicated !== 0)
      throw new Error(`after restart: ${JSON.stringify(after)}`);
    const steady = await replicator.sweep();
    const row = {
      roots: roots.length,
      anchorMs: Math.round(t1 - t0),
      replicateMs: Math.round(t2 - t1),
      repinMs: Math.round(t4 - t3),
      repinPerRootMs: Math.round((t4 - t3) / roots.length),
      recoverSweepMs: Math.round(t6 - t5),
      steadySweepMs: steady.ms,
      load1: Number(loadavg()[0]!.toFixed(2)),
    };
    console.log(`run ${i + 1}: ${JSON.stringify(row)}`);
    return row;
  } finally {
    await app.close();
    await Promise.all([chain.anvil.stop(), cluster.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`replication bench: ${N} resources per run, ${RUNS} runs, ${new Date().toISOString()}`);
const rows: Record<string, number>[] = [];
for (let i = 0; i < RUNS; i++) rows.push(await run(i));
const keys = Object.keys(rows[0]!);
console.log('\nmedian over runs:');
for (const k of keys) console.log(`  ${k.padEnd(16)} ${median(rows.map((r) => r[k]!))}`);
console.log(
  `  load average now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
