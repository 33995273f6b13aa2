/**
 * `npm run bench:memory -w packages/fhir-bridge`: does the bridge's memory grow with the number of
 * resources it processed? A real `ehr-bridge start` process on real Kubo + anvil, fed over HTTP,
 * batches of EHR_BENCH_BATCH (default 5,000) records. (Throughput against a fair naive baseline is
 * bench/ingest.ts; this bench's burst "latencies" are queueing delays, not latency — see bench/latency.ts.)
 *
 * Prints resources/s (first push → last anchored), p50/p99 push→anchored latency per resource, the
 * batched bridge's RSS before and after EHR_BENCH_N (default 200,000) resources, and the CPU time
 * each process (bridge, Kubo, anvil, this load generator) spent per resource — the budget that
 * bounds resources/s on a 2-core machine. bench/stages.ts splits the bridge's share by stage.
 *
 * Knobs: EHR_BENCH_N, EHR_BENCH_BATCH, EHR_BENCH_WARMUP,
 * EHR_BENCH_STORE_CHUNK, EHR_BENCH_KUBO_PROFILE, EHR_BENCH_KUBO_CONFIG (JSON of Kubo settings),
 * EHR_BENCH_PROF=<dir> (V8 CPU profile of the bridge); any EHR_BRIDGE_* variable passes through to
 * the bridges (e.g. EHR_BRIDGE_SEAL_WORKERS=0, EHR_BRIDGE_HEAP_GROWING_PERCENT=0).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEV_KEYS,
  freePort,
  processRssBytes,
  startKubo,
  startProcess,
  toolPath,
  waitFor,
  type ManagedProcess,
} from '@ehr-anchor/testkit';
import { DatabaseSync } from 'node:sqlite';
import { loadKeyStore } from '../src/keys/keystore.js';
import { AtRestKeys } from '../src/outbox/sealed.js';
import { BEARER, startChain } from '../test/helpers.js';
import { resourceAt, templates } from './lib.js';

const N = Number(process.env.EHR_BENCH_N ?? 200_000);
const BATCH = Number(process.env.EHR_BENCH_BATCH ?? 5_000);
const BUNDLE = 1_000;
const WARMUP = Number(process.env.EHR_BENCH_WARMUP ?? 60_000);
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

interface Bridge {
  proc: ManagedProcess;
  url: string;
  db: string;
}

async function startBridge(
  dir: string,
  env: { rpcUrl: string; deploymentFile: string; ipfsApiUrl: string },
  batchMax: number,
  batchMaxMs: number,
): Promise<Bridge> {
  const port = await freePort();
  const db = join(dir, 'outbox.db');
  // EHR_BENCH_PROF=<dir>: write a V8 CPU profile of the bridge there (open in Chrome DevTools).
  const prof = process.env.EHR_BENCH_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.EHR_BENCH_PROF}`]
    : [];
  const proc = startProcess(
    process.execPath,
    [...prof, '--conditions=source', '--import', 'tsx', CLI, 'start'],
    {
      env: {
        ...process.env,
        EHR_BRIDGE_PORT: String(port),
        EHR_BRIDGE_LOG_LEVEL: 'warn',
        EHR_BRIDGE_OUTBOX: `sqlite:${db}`,
        EHR_BRIDGE_IPFS_API_URL: env.ipfsApiUrl,
        EHR_BRIDGE_RPC_URL: env.rpcUrl,
        EHR_BRIDGE_DEPLOYMENT_FILE: env.deploymentFile,
        EHR_BRIDGE_SIGNER_KEY: DEV_KEYS.bridgeA,
        EHR_BRIDGE_KEY_STORE: join(dir, 'keys.json'),
        EHR_BRIDGE_CREATE_KEYS: 'true',
        EHR_BRIDGE_BATCH_MAX: String(batchMax),
        EHR_BRIDGE_BATCH_MAX_MS: String(batchMaxMs),
        ...(process.env.EHR_BENCH_STORE_CHUNK
          ? { EHR_BRIDGE_STORE_CHUNK: process.env.EHR_BENCH_STORE_CHUNK }
          : {}),
        EHR_BRIDGE_BODY_LIMIT: String(64 * 1024 * 1024),
        EHR_BRIDGE_SOURCES: JSON.stringify([{ id: 'bench', auth: { type: 'bearer', secret: BEARER } }]),
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(proc.output().slice(-2000));
      return (await fetch(`${url}/healthz`)).ok;
    },
    { timeoutMs: 120_000, what: 'bridge to start' },
  );
  return { proc, url, db };
}

async function status(url: string) {
  return (await (
    await fetch(`${url}/status`, { headers: { authorization: `Bearer ${BEARER}` } })
  ).json()) as {
    records: Record<'received' | 'stored' | 'batched' | 'anchored', number>;
    batches: Record<string, number>;
  };
}

/**
 * Pushes `count` resources as collection Bundles of `size` (two requests in flight), returns the
 * push start time of each bundle, then waits until all are anchored. The request bodies are
 * serialized before the clock starts, as a FHIR server hands over notifications it already
 * serialized: the bridge's work is what is timed, not this process building JSON.
 */
async function run(
  bridge: Bridge,
  runId: string,
  count: number,
  size: number,
): Promise<{ wallMs: number; starts: number[]; generatorCpuS: number }> {
  const bodies: Buffer[] = [];
  for (let b = 0; b * size < count; b++) {
    const entry = [];
    for (let i = b * size; i < Math.min(count, (b + 1) * size); i++)
      entry.push({ resource: resourceAt(runId, i) });
    bodies.push(Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry })));
  }
  const starts: number[] = [];
  // Records anchored before this run (the warm-up) do not count towards it.
  const base = (await status(bridge.url)).records.anchored;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let next = 0;
  const bundles = bodies.length;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < bundles) {
        const b = next++;
        starts[b] = Date.now();
        const res = await fetch(`${bridge.url}/fhir`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' },
          body: bodies[b]!,
        });
        bodies[b] = Buffer.alloc(0);
        if (res.status !== 202) throw new Error(`push failed: ${res.status} ${await res.text()}`);
      }
    }),
  );
  await waitFor(async () => (await status(bridge.url)).records.anchored >= base + count || undefined, {
    timeoutMs: 3_600_000,
    intervalMs: 200,
    what: `${count} anchored`,
  });
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: Date.now() - t0, starts, generatorCpuS: (cpu.user + cpu.system) / 1e6 };
}

/** Runs `read` on a read-only connection to a bridge's outbox file (the bridge may still be writing it). */
function readOutbox<T>(db: string, read: (sqlite: DatabaseSync) => T): T {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    return read(sqlite);
  } finally {
    sqlite.close();
  }
}

/**
 * push→anchored latency of every record, from the outbox's anchored_at and the bundle's push start.
 * Resource ids are sealed at rest (outbox/sealed.ts): opened with the bridge's key store beside the outbox.
 */
function latencies(db: string, runId: string, size: number, starts: number[]): number[] {
  const keys = new AtRestKeys(loadKeyStore(join(dirname(db), 'keys.json')).pseudonymKey());
  const rows = readOutbox(
    db,
    (sqlite) =>
      sqlite
        .prepare(
          'SELECT resource_type, resource_key, resource_ref, anchored_at FROM records WHERE anchored_at IS NOT NULL',
        )
        .all() as {
        resource_type: string;
        resource_key: string;
        resource_ref: Uint8Array;
        anchored_at: number;
      }[],
  );
  const out: number[] = [];
  for (const r of rows) {
    const id = keys.openId(r.resource_type, r.resource_key, r.resource_ref);
    if (!id.startsWith(`${runId}-`)) continue;
    const i = Number(id.slice(runId.length + 1));
    out.push(Number(r.anchored_at) - starts[Math.floor(i / size)]!);
  }
  return out.sort((a, b) => a - b);
}

// RSS split from /proc/<pid>/status: anonymous (heaps, malloc arenas), file-backed (code, mmaps)
// and shared memory (SQLite's WAL index) — which kind of memory the growth is.
function rssSplit(pid: number): string {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return `anon ${(kb('RssAnon') / 1024).toFixed(0)} MiB, file ${(kb('RssFile') / 1024).toFixed(0)} MiB, shmem ${(kb('RssShmem') / 1024).toFixed(0)} MiB, threads ${/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? '?'}`;
}

/** The bridge's main-thread V8 heap from its Prometheus metrics (prom-client default metrics). */
async function heapOf(url: string): Promise<{ used: number; total: number; external: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^ehr_bridge_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Where the batched run's time went, from the outbox's own timestamps: when the run's records were
 * received, stored (sealed + on IPFS) and anchored, and the batches' sizes and build→anchor times.
 */
function stageTimeline(db: string, since: number): string[] {
  return readOutbox(db, (sqlite) => {
    const r = sqlite
      .prepare(
        `SELECT count(*) AS n, min(received_at) AS r0, max(received_at) AS r1, min(stored_at) AS s0, max(stored_at) AS s1,
                min(anchored_at) AS a0, max(anchored_at) AS a1 FROM records WHERE received_at >= ?`,
      )
      .get(since) as { n: number; r0: number; r1: number; s0: number; s1: number; a0: number; a1: number };
    const b = sqlite
      .prepare(
        `SELECT count(*) AS n, avg(count) AS size, avg(anchored_at - created_at) AS anchorMs, max(anchored_at - created_at) AS anchorMax
         FROM batches WHERE created_at >= ? AND state = 'anchored'`,
      )
      .get(since) as { n: number; size: number; anchorMs: number; anchorMax: number };
    const s = (a: number, z: number) =>
      `${((z - a) / 1000).toFixed(1)} s (${fmt((r.n / Math.max(1, z - a)) * 1000)}/s)`;
    return [
      `  received (HTTP → outbox commit):  ${s(r.r0, r.r1)}`,
      `  stored (sealed, CAR in Kubo):     first ${((r.s0 - r.r0) / 1000).toFixed(1)} s after the first push, last ${((r.s1 - r.r0) / 1000).toFixed(1)} s → ${s(r.s0, r.s1)}`,
      `  anchored:                         first ${((r.a0 - r.r0) / 1000).toFixed(1)} s, last ${((r.a1 - r.r0) / 1000).toFixed(1)} s → ${s(r.a0, r.a1)}`,
      `  batches: ${fmt(b.n)}, ${fmt(b.size)} records on average, built → anchored ${fmt(b.anchorMs)} ms on average (max ${fmt(b.anchorMax)} ms)`,
    ];
  });
}

/** The largest batch built since `since` (ms). */
function largestBatch(db: string, since: number): number {
  return readOutbox(db, (sqlite) =>
    Number(
      (
        sqlite
          .prepare('SELECT coalesce(max(count), 0) AS n FROM batches WHERE created_at >= ?')
          .get(since) as { n: number }
      ).n,
    ),
  );
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

const dir = await mkdtemp(join(tmpdir(), 'ehr-bridge-bench-'));
// Kubo's default flatfs datastore fsyncs every block file; a bridge at volume wants pebbleds (or
// IPFS Cluster). EHR_BENCH_KUBO_PROFILE=test compares with the test profile's flatfs.
const kuboProfile = process.env.EHR_BENCH_KUBO_PROFILE ?? 'test,pebbleds';
const kuboEnv = { ...process.env, IPFS_PATH: join(dir, 'ipfs') };
execFileSync(toolPath('ipfs'), ['init', `--profile=${kuboProfile}`], { env: kuboEnv, stdio: 'ignore' });
// EHR_BENCH_KUBO_CONFIG='{"Import.BatchMaxNodes":20000}': Kubo settings to compare (`ipfs config --json`).
const kuboConfig = Object.entries(
  JSON.parse(process.env.EHR_BENCH_KUBO_CONFIG ?? '{}') as Record<string, unknown>,
);
for (const [key, value] of kuboConfig) {
  execFileSync(toolPath('ipfs'), ['config', '--json', key, JSON.stringify(value)], {
    env: kuboEnv,
    stdio: 'ignore',
  });
}
const [chain, kubo] = await Promise.all([startChain(dir), startKubo({ repoPath: join(dir, 'ipfs') })]);
const env = { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile, ipfsApiUrl: kubo.apiUrl };
const rows: string[][] = [];
try {
  console.log(
    `memory bench: ${fmt(N)} resources batched (batch ${fmt(BATCH)}, after a ${fmt(WARMUP)}-resource warm-up), ${templates().length} fixture templates, Kubo profile ${kuboProfile}${kuboConfig.length ? ` + ${process.env.EHR_BENCH_KUBO_CONFIG}` : ''}, load average ${loadavg()[0]!.toFixed(1)}`,
  );

  // Batched, with a warm-up so "RSS before" is a bridge at its working set (V8 heaps and malloc
  // arenas sized for full chunks, batches and requests in flight), not a cold one: the question is
  // whether memory grows with the number of resources processed. The working set is reached only
  // once large batches (up to EHR_BENCH_BATCH records: their trees, proofs and manifests) have been
  // built, which happens when a backlog drains: pushes outrun the pipeline, so the warm-up is pushed
  // like the run, in one go (60,000: ~20,000 left to drain at its end, as the run's last quarter
  // does with more; its largest batch is printed, 4,000–5,000 in practice); warm-ups of 20,000
  // built only ~2,600-record batches.
  // RSS under load is also a sawtooth (V8 and malloc give memory back only at some collections), so
  // one sample before and one after can land on a tooth's top or bottom: besides those two samples
  // the bench prints the median over the last quarter of the warm-up vs of the run (the same phase,
  // a draining backlog) and the least-squares trend across the run, from RSS sampled every 0.5 s.
  const batched = await startBridge(join(dir, 'batched'), env, BATCH, 1_000);
  const samples: { t: number; rss: number }[] = [];
  const sampler = setInterval(() => {
    void processRssBytes(batched.proc.pid)
      .then((rss) => samples.push({ t: Date.now(), rss }))
      .catch(() => undefined);
  }, 500);
  const warmupStart = Date.now();
  if (WARMUP > 0) await run(batched, 'warmup', WARMUP, BUNDLE);
  const warmupRss = samples.map((x) => x.rss);
  const warmupWindow = warmupRss.slice(Math.floor(warmupRss.length * 0.75));
  const warmupBatchMax = largestBatch(batched.db, warmupStart);
  const rssBefore = await processRssBytes(batched.proc.pid);
  const heapBefore = await heapOf(batched.url);
  const splitBefore = rssSplit(batched.proc.pid);
  const procs = { bridge: batched.proc.pid, kubo: kubo.process.pid, anvil: chain.anvil.process.pid };
  const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const runStart = Date.now();
  const runFrom = samples.length;
  const batchedRun = await run(batched, 'batched', N, BUNDLE);
  const cpuUsed: Record<string, number> = Object.fromEntries(
    Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid) - cpu0[k]!]),
  );
  cpuUsed['load generator (this process)'] = batchedRun.generatorCpuS;
  clearInterval(sampler);
  const runSamples = samples.slice(runFrom);
  const rssAfter = await processRssBytes(batched.proc.pid);
  const heapAfter = await heapOf(batched.url);
  const splitAfter = rssSplit(batched.proc.pid);
  const batchedLat = latencies(batched.db, 'batched', BUNDLE, batchedRun.starts);
  const batchedTx = (await status(batched.url)).batches.anchored!;
  await batched.proc.stop(process.env.EHR_BENCH_PROF ? 120_000 : 5_000);
  const batchedRate = (N / batchedRun.wallMs) * 1000;
  rows.push([
    `batched (≤ ${fmt(BATCH)} / tx)`,
    fmt(N),
    (batchedRun.wallMs / 1000).toFixed(1),
    fmt(batchedRate),
    fmt(pct(batchedLat, 50)),
    fmt(pct(batchedLat, 99)),
    fmt(batchedTx),
  ]);

  const head = ['pipeline', 'resources', 'wall s', 'resources/s', 'p50 ms', 'p99 ms', 'anchor txs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(
    `\n${line(head)}\n|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const r of rows) console.log(line(r));
  console.log(
    `batched resources/s: ${fmt(batchedRate)}  (goal ≥ 10,000 on 2 cores; load average now ${loadavg()[0]!.toFixed(1)})`,
  );
  console.log(
    `\nbatched run, stage by stage (outbox timestamps):\n${stageTimeline(batched.db, runStart).join('\n')}`,
  );
  const cpuTotal = Object.values(cpuUsed).reduce((a, b) => a + b, 0);
  console.log(
    `\nCPU used during the batched run (${(batchedRun.wallMs / 1000).toFixed(1)} s wall, 2 cores = ${((2 * batchedRun.wallMs) / 1000).toFixed(1)} core-s available):`,
  );
  for (const [k, v] of Object.entries(cpuUsed))
    console.log(
      `  ${k.padEnd(30)} ${v.toFixed(1).padStart(7)} core-s  ${((v / N) * 1e6).toFixed(0).padStart(5)} µs/resource`,
    );
  console.log(
    `  ${'total'.padEnd(30)} ${cpuTotal.toFixed(1).padStart(7)} core-s  ${((cpuTotal / N) * 1e6).toFixed(0).padStart(5)} µs/resource → at most ${fmt(2e6 / ((cpuTotal / N) * 1e6))} resources/s on 2 idle cores`,
  );
  const rss = runSamples.map((x) => x.rss);
  const at = (f: number) => mb(rss[Math.min(rss.length - 1, Math.floor(f * rss.length))] ?? 0);
  console.log(
    `bridge RSS during the run (no forced GC): 25% ${at(0.25)}, 50% ${at(0.5)}, 75% ${at(0.75)}, end ${at(1)}`,
  );
  console.log(
    `bridge main-thread V8 heap used: before ${mb(heapBefore.used)}, after ${mb(heapAfter.used)}; heap total ${mb(heapBefore.total)} → ${mb(heapAfter.total)}; external ${mb(heapBefore.external)} → ${mb(heapAfter.external)}`,
  );
  console.log(
    `bridge RSS split: before ${splitBefore}; after ${splitAfter}${process.env.MALLOC_ARENA_MAX ? ` (MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX})` : ''}`,
  );
  const pctOf = (from: number, to: number) =>
    `${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)}%`;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const lastQuarter = median(rss.slice(Math.floor(rss.length * 0.75)));
  const before = median(warmupWindow);
  // Least squares of RSS over time across the run: the start and end of the fitted line.
  const ts = runSamples.map((x) => x.t - runStart);
  const mt = ts.reduce((a, b) => a + b, 0) / ts.length;
  const mr = rss.reduce((a, b) => a + b, 0) / rss.length;
  const slope =
    ts.reduce((a, t, i) => a + (t - mt) * (rss[i]! - mr), 0) / ts.reduce((a, t) => a + (t - mt) ** 2, 0);
  const fitStart = mr - slope * mt;
  const fitEnd = mr + slope * (ts[ts.length - 1]! - mt);
  console.log(`\nbridge RSS (VmRSS, no forced GC; goal: growth ≤ 10% over ${fmt(N)} resources):`);
  console.log(
    `  warm-up of ${fmt(WARMUP)}: largest batch ${fmt(warmupBatchMax)} records (the run's: ${fmt(largestBatch(batched.db, runStart))}); RSS min ${mb(Math.min(...warmupRss))}, max ${mb(Math.max(...warmupRss))}`,
  );
  console.log(
    `  one sample before / after:              ${mb(rssBefore)} → ${mb(rssAfter)} (${pctOf(rssBefore, rssAfter)}), run min ${mb(Math.min(...rss))}, max ${mb(Math.max(...rss))}`,
  );
  console.log(
    `  median over the last quarter, warm-up / run: ${mb(before)} (${warmupWindow.length} samples) → ${mb(lastQuarter)} (${rss.length - Math.floor(rss.length * 0.75)} samples) (${pctOf(before, lastQuarter)})`,
  );
  console.log(
    `  least-squares trend across the run:      ${mb(fitStart)} → ${mb(fitEnd)} (${pctOf(fitStart, fitEnd)}, ${rss.length} samples)`,
  );
} finally {
  await Promise.all([chain.anvil.stop(), kubo.stop()]);
  await rm(dir, { recursive: true, force: true });
}
