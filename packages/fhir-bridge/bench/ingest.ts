/**
 * `npm run bench -w packages/fhir-bridge`: ingest throughput, batched vs naive, measured side by side
 * in one run on one anvil (automine) and one Kubo — the same N resources and the same warm-up for both.
 *
 * - naive (bench/naive.ts): one IPFS add and one anchor() transaction per resource, with
 *   EHR_BENCH_CONCURRENCY (default 16) resources in flight: adds overlap, transactions are pipelined
 *   with explicit nonces. In-process, no HTTP, no durable outbox.
 * - batched: the bridge as shipped (`ehr-bridge start`, its default batchMax 2,000 / batchMaxMs
 *   2,000 ms, SQLite outbox), fed over HTTP as a FHIR server would: collection Bundles of 1,000,
 *   two requests in flight.
 *
 * Throughput is resources ÷ (first resource in → last anchored). No latency percentiles here: all
 * resources arrive at once, so they would be queueing delays of the burst; push→anchored latency at
 * steady rates is bench/latency.ts. Also printed: CPU µs per resource of each process (the budget
 * that bounds throughput on a 2-core machine) and the load average.
 *
 * Knobs: EHR_BENCH_N (default 20,000), EHR_BENCH_WARMUP (2,000), EHR_BENCH_CONCURRENCY (16),
 * EHR_BENCH_NAIVE=0 (skip naive).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchSummary, cpuMeter, fmt, loadAverage, table, waitFor } from '@ehr-anchor/testkit';
import { startChain } from '../test/helpers.js';
import {
  bundleBody,
  pushBody,
  resourceAt,
  startBenchKubo,
  startBridgeProcess,
  status,
  type BridgeProcess,
} from './lib.js';
import { naivePipeline } from './naive.js';

const N = Number(process.env.EHR_BENCH_N ?? 20_000);
const WARMUP = Number(process.env.EHR_BENCH_WARMUP ?? 2_000);
const CONCURRENCY = Number(process.env.EHR_BENCH_CONCURRENCY ?? 16);
const NAIVE = process.env.EHR_BENCH_NAIVE !== '0';
const BUNDLE = 1_000;

/** Pushes resources of `run` as Bundles (two in flight) and waits until all are anchored. */
async function pushAndAnchor(bridge: BridgeProcess, run: string, count: number): Promise<number> {
  const bodies: Buffer[] = [];
  for (let from = 0; from < count; from += BUNDLE)
    bodies.push(bundleBody(run, from, Math.min(count, from + BUNDLE)));
  const base = (await status(bridge.url)).records.anchored;
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < bodies.length) await pushBody(bridge.url, bodies[next++]!);
    }),
  );
  await waitFor(async () => (await status(bridge.url)).records.anchored >= base + count || undefined, {
    timeoutMs: 3_600_000,
    intervalMs: 100,
    what: `${count} anchored`,
  });
  return Date.now() - t0;
}

const dir = await mkdtemp(join(tmpdir(), 'ehr-bench-ingest-'));
const [chain, kubo] = await Promise.all([startChain(dir), startBenchKubo(dir)]);
const env = { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile, ipfsApiUrl: kubo.apiUrl };
const rows: string[][] = [];
const cpuRows: string[][] = [];
const rates = { naive: Number.NaN, batched: Number.NaN };
const cpuRow = (name: string, used: Record<string, number>) =>
  cpuRows.push([
    name,
    ...['pipeline', 'kubo', 'anvil', 'generator'].map((k) => fmt(((used[k] ?? 0) / N) * 1e6)),
    fmt((Object.values(used).reduce((a, b) => a + b, 0) / N) * 1e6),
  ]);
let bridge: BridgeProcess | undefined;
try {
  console.log(
    `ingest bench: ${fmt(N)} resources after a ${fmt(WARMUP)}-resource warm-up, each pipeline; naive with ${CONCURRENCY} in flight; automine; load ${loadAverage()}`,
  );
  if (NAIVE) {
    const naive = await naivePipeline({
      rpcUrl: env.rpcUrl,
      registry: chain.registry,
      ipfsApiUrl: kubo.apiUrl,
      concurrency: CONCURRENCY,
    });
    try {
      if (WARMUP > 0) await naive.run(WARMUP, (i) => resourceAt('naive-warmup', i));
      const loadAt = loadAverage();
      const cpu = cpuMeter({ kubo: kubo.process.pid, anvil: chain.anvil.process.pid });
      const own = process.cpuUsage();
      const t0 = Date.now();
      const { txs } = await naive.run(N, (i) => resourceAt('naive', i));
      const wall = Date.now() - t0;
      const used = cpu();
      const self = process.cpuUsage(own);
      used.pipeline = (self.user + self.system) / 1e6;
      rates.naive = (N / wall) * 1000;
      rows.push([
        `naive: 1 add + 1 tx per resource, ${CONCURRENCY} in flight`,
        fmt(N),
        fmt(wall / 1000, 1),
        fmt(rates.naive),
        fmt(txs),
        loadAt,
      ]);
      cpuRow('naive', used);
      console.log(`naive: ${fmt(rates.naive)} resources/s`);
    } finally {
      naive.close();
    }
  }

  bridge = await startBridgeProcess(join(dir, 'batched'), env);
  if (WARMUP > 0) await pushAndAnchor(bridge, 'batched-warmup', WARMUP);
  const before = (await status(bridge.url)).batches.anchored ?? 0;
  const loadAt = loadAverage();
  const cpu = cpuMeter({ pipeline: bridge.proc.pid, kubo: kubo.process.pid, anvil: chain.anvil.process.pid });
  const own = process.cpuUsage();
  const wall = await pushAndAnchor(bridge, 'batched', N);
  const used = cpu();
  const self = process.cpuUsage(own);
  used.generator = (self.user + self.system) / 1e6;
  const txs = ((await status(bridge.url)).batches.anchored ?? 0) - before;
  rates.batched = (N / wall) * 1000;
  rows.push([
    'batched: the bridge over HTTP (batchMax 2,000)',
    fmt(N),
    fmt(wall / 1000, 1),
    fmt(rates.batched),
    fmt(txs),
    loadAt,
  ]);
  cpuRow('batched', used);

  console.log(
    `\n${table(['pipeline', 'resources', 'wall s', 'resources/s', 'anchor txs', 'load (1/5/15)'], rows)}`,
  );
  console.log(
    `\nCPU µs per resource (naive's pipeline is this process; batched's is the bridge process, fed by this one):\n${table(
      ['pipeline', 'pipeline', 'Kubo', 'anvil', 'load generator', 'total'],
      cpuRows,
    )}`,
  );
  const ratio = rates.batched / rates.naive;
  if (NAIVE) console.log(`\nbatched ÷ naive throughput, same N, warm-up and run: ${fmt(ratio, 1)}×`);
  benchSummary([
    {
      area: 'ingest',
      what: `resources/s, ${fmt(N)} after ${fmt(WARMUP)} warm-up, automine`,
      figure: `batched ${fmt(rates.batched)}/s${NAIVE ? `, naive ${fmt(rates.naive)}/s: **${fmt(ratio, 1)}×**` : ''}`,
      against: `naive = 1 IPFS add + 1 anchor tx per resource, ${CONCURRENCY} in flight, nonces pipelined`,
    },
  ]);
} finally {
  await bridge?.stop();
  await Promise.all([chain.anvil.stop(), kubo.stop()]);
  await rm(dir, { recursive: true, force: true });
}
