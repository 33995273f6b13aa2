/**
 * `npm run bench:scale -w packages/fhir-bridge`: scale-out — 1, 2 and 3 bridge processes on one
 * PostgreSQL outbox (SKIP LOCKED claims) and one Kubo, one anvil (automine), the same hospital
 * signer and key store, the same workload each time: EHR_BENCH_N resources (default 10,000) in
 * collection Bundles of 500, four requests in flight in all, spread round-robin over the bridges,
 * after a warm-up of EHR_BENCH_WARMUP (default 1,000). A fresh PostgreSQL per step.
 *
 * Prints throughput (first push → all anchored), p50/p99 push→anchored of each resource (from the
 * outbox's `anchored_at`; a burst, so these are queueing delays), the bridges' CPU per resource and
 * each other process's, so the per-stage CPU says what a second machine would add.
 *
 * Knobs: EHR_BENCH_N, EHR_BENCH_WARMUP, EHR_BENCH_BRIDGES (default "1,2,3").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  benchSummary,
  cpuSeconds,
  descendants,
  fmt,
  loadAverage,
  pct,
  startPostgres,
  table,
  waitFor,
} from '@ehr-anchor/testkit';
import pg from 'pg';
import { loadKeyStore } from '../src/keys/keystore.js';
import { AtRestKeys } from '../src/outbox/sealed.js';
import { startChain } from '../test/helpers.js';
import {
  bundleBody,
  pushBody,
  startBenchKubo,
  startBridgeProcess,
  status,
  type BridgeProcess,
} from './lib.js';

const N = Number(process.env.EHR_BENCH_N ?? 10_000);
const WARMUP = Number(process.env.EHR_BENCH_WARMUP ?? 1_000);
const STEPS = (process.env.EHR_BENCH_BRIDGES ?? '1,2,3').split(',').map(Number);
const BUNDLE = 500;
const IN_FLIGHT = 4;

/** CPU seconds of a process and its descendants now (PostgreSQL's backends are children). */
const treeCpu = (pid: number) =>
  [pid, ...descendants(pid)].reduce((sum, p) => {
    try {
      return sum + cpuSeconds(p);
    } catch {
      return sum; // exited meanwhile
    }
  }, 0);

/** Pushes a run's resources over the bridges round-robin; returns each Bundle's push start. */
async function pushRun(bridges: BridgeProcess[], run: string, count: number): Promise<number[]> {
  const bodies: Buffer[] = [];
  for (let from = 0; from < count; from += BUNDLE)
    bodies.push(bundleBody(run, from, Math.min(count, from + BUNDLE)));
  const starts: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < bodies.length) {
        const b = next++;
        starts[b] = Date.now();
        await pushBody(bridges[b % bridges.length]!.url, bodies[b]!);
      }
    }),
  );
  return starts;
}

async function allAnchored(url: string, what: string): Promise<void> {
  await waitFor(
    async () => {
      const { records } = await status(url);
      return records.received + records.stored + records.batched === 0 || undefined;
    },
    { timeoutMs: 1_800_000, intervalMs: 100, what },
  );
}

/** Each resource's anchored_at by index from the PostgreSQL outbox (ids opened with the key store). */
async function anchoredAtPg(url: string, keysFile: string, run: string): Promise<Map<number, number>> {
  const keys = new AtRestKeys(loadKeyStore(keysFile).pseudonymKey());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      resource_type: string;
      resource_key: string;
      resource_ref: Buffer;
      anchored_at: string;
    }>(
      'SELECT resource_type, resource_key, resource_ref, anchored_at FROM records WHERE anchored_at IS NOT NULL',
    );
    const out = new Map<number, number>();
    for (const r of rows) {
      const id = keys.openId(r.resource_type, r.resource_key, new Uint8Array(r.resource_ref));
      if (id.startsWith(`${run}-`)) out.set(Number(id.slice(run.length + 1)), Number(r.anchored_at));
    }
    return out;
  } finally {
    await client.end();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ehr-bench-scale-'));
const [chain, kubo] = await Promise.all([startChain(dir), startBenchKubo(dir)]);
const env = { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile, ipfsApiUrl: kubo.apiUrl };
const rows: string[][] = [];
const rates: number[] = [];
try {
  console.log(
    `scale-out bench: ${STEPS.join(', ')} bridges on one PostgreSQL, ${fmt(N)} resources after ${fmt(WARMUP)} warm-up, Bundles of ${BUNDLE}, ${IN_FLIGHT} in flight; load ${loadAverage()}`,
  );
  for (const k of STEPS) {
    const postgres = await startPostgres();
    const bridges: BridgeProcess[] = [];
    try {
      const keysFile = join(dir, `step-${k}`, 'keys.json');
      for (let i = 0; i < k; i++)
        bridges.push(
          await startBridgeProcess(join(dir, `step-${k}`, `bridge-${i}`), env, {
            outbox: postgres.url,
            keyStoreFile: keysFile,
            read: { store: join(dir, `step-${k}`, `bridge-${i}`, 'read.db') },
          }),
        );
      if (WARMUP > 0) {
        await pushRun(bridges, `w${k}`, WARMUP);
        await allAnchored(bridges[0]!.url, 'warm-up anchored');
      }
      const loadAt = loadAverage();
      const cpu0 = bridges.map((b) => cpuSeconds(b.proc.pid));
      const others = {
        Kubo: kubo.process.pid,
        anvil: chain.anvil.process.pid,
        PostgreSQL: postgres.process.pid,
      };
      const other0 = Object.fromEntries(Object.entries(others).map(([n, pid]) => [n, treeCpu(pid)]));
      const t0 = Date.now();
      const starts = await pushRun(bridges, `s${k}`, N);
      await allAnchored(bridges[0]!.url, `${fmt(N)} anchored`);
      const wall = Date.now() - t0;
      const bridgeCpu = bridges.reduce((sum, b, i) => sum + cpuSeconds(b.proc.pid) - cpu0[i]!, 0);
      const otherCpu = Object.fromEntries(
        Object.entries(others).map(([n, pid]) => [n, treeCpu(pid) - other0[n]!]),
      );
      const anchored = await anchoredAtPg(postgres.url, keysFile, `s${k}`);
      const lat = [...anchored].map(([i, at]) => at - starts[Math.floor(i / BUNDLE)]!).sort((a, b) => a - b);
      const rate = (N / wall) * 1000;
      rates.push(rate);
      const us = (s: number) => fmt((s / N) * 1e6);
      rows.push([
        String(k),
        fmt(rate),
        `${fmt(rate / rates[0]!, 2)}×`,
        fmt(pct(lat, 50)),
        fmt(pct(lat, 99)),
        us(bridgeCpu),
        us(otherCpu.Kubo!),
        us(otherCpu.PostgreSQL!),
        us(otherCpu.anvil!),
        loadAt,
      ]);
      console.log(`${k} bridge${k > 1 ? 's' : ''}: ${fmt(rate)} resources/s, p99 ${fmt(pct(lat, 99))} ms`);
      benchSummary([
        {
          area: 'scale-out',
          what: `${k} bridge${k > 1 ? 's' : ''} on one PostgreSQL + Kubo, ${fmt(N)} resources`,
          figure: `${fmt(rate)}/s (${fmt(rate / rates[0]!, 2)}× one), p99 ${fmt(pct(lat, 99) / 1000, 1)} s; bridge CPU ${us(bridgeCpu)} µs/resource`,
          against: `Kubo ${us(otherCpu.Kubo!)} µs, PostgreSQL ${us(otherCpu.PostgreSQL!)} µs per resource on the same 2 cores`,
        },
      ]);
    } finally {
      await Promise.all(bridges.map((b) => b.stop()));
      await postgres.stop();
    }
  }
  console.log(
    `\n${table(
      [
        'bridges',
        'resources/s',
        '× one',
        'p50 ms',
        'p99 ms',
        'bridges µs/res',
        'Kubo µs/res',
        'PostgreSQL µs/res',
        'anvil µs/res',
        'load (1/5/15)',
      ],
      rows,
    )}`,
  );
} finally {
  await Promise.all([chain.anvil.stop(), kubo.stop()]);
  await rm(dir, { recursive: true, force: true });
}
