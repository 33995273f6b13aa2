/**
 * `npm run bench:latency -w packages/fhir-bridge`: push→anchored latency at steady rates, on anvil
 * with automine and with 2-second blocks (what the Besu QBFT genesis sets), one real `ehr-bridge
 * start` process with its default batching (batchMax 2,000, batchMaxMs 2,000 ms) over HTTP.
 *
 * For each rate (EHR_BENCH_RATES, default 20, 200, 2,000 resources/s) the load generator pushes one
 * collection Bundle every 50 ms (rate ÷ 20 resources each; open loop: a push is not awaited before
 * the next tick) for EHR_BENCH_SECONDS (default 20), then waits until all are anchored.
 * A resource's latency is its Bundle's push start → the bridge's `anchored_at` (the moment it saw the
 * receipt). Prints p50 / p95 / p99 / max against the target p99 ≤ batch window + 2 block periods.
 *
 * Knobs: EHR_BENCH_RATES, EHR_BENCH_SECONDS, EHR_BENCH_BLOCK_TIMES (default "0,2"; 0 = automine),
 * EHR_BENCH_BATCH_MAX_MS (default: the bridge's 2,000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchSummary, fmt, loadAverage, pct, table, waitFor } from '@ehr-anchor/testkit';
import { startChain } from '../test/helpers.js';
import {
  anchoredAt,
  bundleBody,
  pushBody,
  startBenchKubo,
  startBridgeProcess,
  status,
  type BridgeProcess,
} from './lib.js';

const RATES = (process.env.EHR_BENCH_RATES ?? '20,200,2000').split(',').map(Number);
const SECONDS = Number(process.env.EHR_BENCH_SECONDS ?? 20);
const BLOCK_TIMES = (process.env.EHR_BENCH_BLOCK_TIMES ?? '0,2').split(',').map(Number);
const BATCH_MAX_MS = Number(process.env.EHR_BENCH_BATCH_MAX_MS ?? 2_000);
const TICK_MS = 50;

/** Pushes `rate` resources/s for `seconds` in ticks of 50 ms; returns each resource's push start. */
async function steady(bridge: BridgeProcess, run: string, rate: number, seconds: number): Promise<number[]> {
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const bodies = Array.from({ length: ticks }, (_, t) => bundleBody(run, t * perTick, (t + 1) * perTick));
  const starts: number[] = [];
  const t0 = performance.now() + 50;
  const origin = Date.now() - performance.now();
  let late = 0;
  const pushes: Promise<void>[] = [];
  for (let t = 0; t < ticks; t++) {
    const due = t0 + t * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -TICK_MS) late++;
    const at = Math.round(origin + performance.now());
    for (let i = 0; i < perTick; i++) starts[t * perTick + i] = at;
    // Not awaited: a slow answer must not delay the next tick (an open-loop generator).
    pushes.push(pushBody(bridge.url, bodies[t]!));
  }
  await Promise.all(pushes);
  if (late > 0) console.log(`  (the generator started ${late} of ${ticks} ticks more than one tick late)`);
  return starts;
}

const dir = await mkdtemp(join(tmpdir(), 'ehr-bench-latency-'));
const kubo = await startBenchKubo(dir);
const rows: string[][] = [];
try {
  console.log(
    `latency bench: rates ${RATES.join(', ')} resources/s for ${SECONDS} s each, Bundles every ${TICK_MS} ms, batch window ${fmt(BATCH_MAX_MS)} ms; load ${loadAverage()}`,
  );
  for (const blockTime of BLOCK_TIMES) {
    const chainDir = join(dir, `chain-${blockTime}`);
    const chain = await startChain(chainDir, blockTime > 0 ? { blockTime } : {});
    const mode = blockTime > 0 ? `${blockTime}-s blocks` : 'automine';
    const target = BATCH_MAX_MS + 2 * blockTime * 1000;
    let bridge: BridgeProcess | undefined;
    try {
      bridge = await startBridgeProcess(
        join(chainDir, 'bridge'),
        { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile, ipfsApiUrl: kubo.apiUrl },
        { batchMaxMs: BATCH_MAX_MS },
      );
      const allAnchored = async (what: string) => {
        await waitFor(
          async () => {
            const { records } = await status(bridge!.url);
            return records.received + records.stored + records.batched === 0 || undefined;
          },
          { timeoutMs: 600_000, intervalMs: 100, what },
        );
      };
      // Warm-up: a few seconds at the first rate (JIT, connections, the first batch), all anchored.
      await steady(bridge, `warmup`, RATES[0]!, 3);
      await allAnchored('warm-up anchored');
      for (const rate of RATES) {
        const run = `r${rate}`;
        const loadAt = loadAverage();
        const starts = await steady(bridge, run, rate, SECONDS);
        await allAnchored(`${starts.length} anchored`);
        const anchored = anchoredAt(bridge.db, run);
        const lat = starts.map((s, i) => anchored.get(i)! - s).sort((a, b) => a - b);
        const [p50, p95, p99] = [pct(lat, 50), pct(lat, 95), pct(lat, 99)];
        rows.push([
          mode,
          fmt(rate),
          fmt(starts.length),
          fmt(p50),
          fmt(p95),
          fmt(p99),
          fmt(lat[lat.length - 1]!),
          `${fmt(target)} ${p99 <= target ? 'met' : 'missed'}`,
          loadAt,
        ]);
        console.log(`${mode}, ${rate}/s: p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms`);
        benchSummary([
          {
            area: 'latency',
            what: `push→anchored at ${fmt(rate)} resources/s, ${mode}`,
            figure: `p50 ${fmt(p50 / 1000, 2)} s, p95 ${fmt(p95 / 1000, 2)} s, p99 ${fmt(p99 / 1000, 2)} s`,
            against: `target p99 ≤ ${fmt(target / 1000, 1)} s (batch window + 2 blocks): ${p99 <= target ? 'met' : 'missed'}`,
          },
        ]);
      }
    } finally {
      await bridge?.stop();
      await chain.anvil.stop();
    }
  }
  console.log(
    `\n${table(['chain', 'resources/s', 'resources', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'target p99 ms', 'load (1/5/15)'], rows)}`,
  );
} finally {
  await kubo.stop();
  await rm(dir, { recursive: true, force: true });
}
