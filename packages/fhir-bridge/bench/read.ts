/**
 * `npm run bench:read -w packages/fhir-bridge`: the read side under load, on the real stack — a
 * real `ehr-bridge start` process over HTTP, anvil (2-second blocks by default, like the Besu QBFT
 * genesis), Kubo, the five Synthea patients ingested and anchored, each registered on chain and
 * granting every bench doctor all scopes. Doctors sign in with Sign-In with Ethereum; autocannon
 * (a real HTTP load tool, in this process) then runs, for each concurrency level, a fixed time of
 *
 * - read: `GET /records/{seq}` — consent check on chain, outbox row, envelope from Kubo, CID check,
 *   decryption, leaf / proof / anchor checks, one AuditEvent written — a random record and doctor
 *   per request;
 * - list: `GET /patients/{subject}/records?limit=50` — consent per category, the subject's rows.
 *
 * Prints requests/s, p50/p99 latency, errors and non-2xx answers per level, the CPU each process
 * used per request, and where the bridge's time went per request (its `ehr_bridge_read_stage_seconds`
 * metric: session, chain, store, ipfs, open + verify, audit). Rate limits are on, with ceilings
 * above the bench's load (bench/lib.ts).
 *
 * Knobs: EHR_BENCH_READ_LEVELS (connections, default 1,4,16,64), EHR_BENCH_READ_SECONDS (per level
 * and workload, default 10), EHR_BENCH_READ_DOCTORS (default 4), EHR_BENCH_BLOCK_TIME (seconds, 0 =
 * automine; default 2), EHR_BENCH_READ_WORKLOADS (read,list).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ALL_SCOPES, NO_EXPIRY } from '@ehr-anchor/contracts';
import { chainProvider, chainSigner, registryAt } from '@ehr-anchor/contracts/deploy';
import { pseudonym } from '@ehr-anchor/core';
import {
  benchSummary,
  cpuMeter,
  DEV_KEYS,
  fmt,
  jsonRpc,
  loadAverage,
  loadSyntheaBundles,
  table,
  waitFor,
} from '@ehr-anchor/testkit';
import { Wallet, type Contract } from 'ethers';
import { loadKeyStore } from '../src/keys/keystore.js';
import { startChain } from '../test/helpers.js';
import { signIn } from '../test/read-harness.js';
import { pushBody, startBenchKubo, startBridgeProcess, status } from './lib.js';

const LEVELS = (process.env.EHR_BENCH_READ_LEVELS ?? '1,4,16,64').split(',').map(Number);
const SECONDS = Number(process.env.EHR_BENCH_READ_SECONDS ?? 10);
const DOCTORS = Number(process.env.EHR_BENCH_READ_DOCTORS ?? 4);
const BLOCK_TIME = Number(process.env.EHR_BENCH_BLOCK_TIME ?? 2);
const WORKLOADS = (process.env.EHR_BENCH_READ_WORKLOADS ?? 'read,list').split(',') as ('read' | 'list')[];
const STAGES = ['session', 'chain', 'store', 'ipfs', 'open', 'audit'] as const;

async function send(contract: Contract, fn: string, ...args: unknown[]): Promise<void> {
  const tx = (await contract.getFunction(fn)(...args)) as { wait(): Promise<unknown> };
  await tx.wait();
}

/** Sum and count of each stage of the bridge's read-stage histogram (absent stages: 0). */
async function stageTotals(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, { sum: number; count: number }>();
  for (const m of text.matchAll(
    /^ehr_bridge_read_stage_seconds_(sum|count)\{[^}]*stage="([a-z]+)"[^}]*\} (\S+)$/gm,
  )) {
    const e = out.get(m[2]!) ?? { sum: 0, count: 0 };
    if (m[1] === 'sum') e.sum += Number(m[3]);
    else e.count += Number(m[3]);
    out.set(m[2]!, e);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'ehr-bench-read-'));
// Set up with automine (dozens of registration and grant transactions), then measure with blocks
// every BLOCK_TIME seconds (`evm_setIntervalMining`), as the chain runs in production.
const [chain, kubo] = await Promise.all([startChain(dir), startBenchKubo(dir)]);
const provider = chainProvider(chain.anvil.rpcUrl);
let bridge: Awaited<ReturnType<typeof startBridgeProcess>> | undefined;
try {
  bridge = await startBridgeProcess(
    join(dir, 'bridge'),
    { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile, ipfsApiUrl: kubo.apiUrl },
    { batchMax: 2000, batchMaxMs: 1000, read: { sessionTtlSec: 3600 } },
  );
  const url = bridge.url;

  // The five Synthea patients, ingested and anchored.
  const bundles = [...loadSyntheaBundles().values()];
  let total = 0;
  for (const b of bundles) {
    await pushBody(url, Buffer.from(JSON.stringify(b)));
    total += b.entry!.length;
  }
  await waitFor(
    async () => {
      const { records } = await status(url);
      return records.received + records.stored + records.batched === 0 || undefined;
    },
    { timeoutMs: 300_000, intervalMs: 200, what: 'every record anchored' },
  );

  // On chain: each patient registered with the subject the bridge computes; doctors of hospital A
  // granted every scope by every patient.
  const keys = loadKeyStore(join(dir, 'bridge', 'keys.json'));
  const hospitalA = new Wallet(DEV_KEYS.hospitalA).address;
  const hospital = registryAt(chain.registry, chainSigner(DEV_KEYS.hospitalA, provider));
  const doctors = Array.from({ length: DOCTORS }, () => Wallet.createRandom());
  for (const [i, d] of doctors.entries()) await send(hospital, 'addDoctor', d.address, `Dr. Bench ${i + 1}`);
  const subjects: string[] = [];
  for (const b of bundles) {
    const patient = b.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!;
    const subject = await pseudonym(patient.id!, keys.pseudonymKey());
    const wallet = Wallet.createRandom();
    const self = registryAt(chain.registry, chainSigner(wallet.privateKey, provider));
    await send(self, 'requestRegistration', hospitalA, subject);
    await send(hospital, 'approveRegistration', wallet.address);
    for (const d of doctors) await send(self, 'grantAccess', d.address, ALL_SCOPES, NO_EXPIRY);
    subjects.push(subject);
  }
  if (BLOCK_TIME > 0) {
    await jsonRpc(chain.anvil.rpcUrl, 'evm_setIntervalMining', [BLOCK_TIME]);
    if (await jsonRpc(chain.anvil.rpcUrl, 'anvil_getAutomine', []))
      throw new Error('anvil still mines a block per transaction');
  }
  const tokens: string[] = [];
  for (const d of doctors) tokens.push(await signIn(url, d as unknown as Wallet));

  // Every record of every patient (its seq), from the list API itself.
  const seqs: number[] = [];
  for (const s of subjects) {
    let cursor: string | undefined;
    do {
      const res = await fetch(`${url}/patients/${s}/records?limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { authorization: `Bearer ${tokens[0]}` },
      });
      if (!res.ok) throw new Error(`list: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { items: { seq: number }[]; next?: string };
      seqs.push(...page.items.map((i) => i.seq));
      cursor = page.next;
    } while (cursor);
  }
  console.log(
    `read bench: ${total} records of ${subjects.length} patients (${seqs.length} readable), ${DOCTORS} doctors signed in, ` +
      `${BLOCK_TIME > 0 ? `${BLOCK_TIME}-second blocks` : 'automine'}, ${SECONDS} s per level, load ${loadAverage()}`,
  );

  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const pathFor = (workload: 'read' | 'list') =>
    workload === 'read'
      ? () => `/records/${pick(seqs)}`
      : () => `/patients/${pick(subjects)}/records?limit=50`;

  const rows: string[][] = [];
  const stageRows: string[][] = [];
  const cpuRows: string[][] = [];
  for (const workload of WORKLOADS) {
    const path = pathFor(workload);
    // Warm-up: a short run at the middle level (JIT, connections, caches as a running bridge has them).
    await autocannon({
      url,
      connections: 4,
      duration: 2,
      requests: [
        {
          method: 'GET',
          setupRequest: (r) => ({ ...r, path: path(), headers: { authorization: `Bearer ${pick(tokens)}` } }),
        },
      ],
    });
    for (const connections of LEVELS) {
      const stages0 = await stageTotals(url);
      const cpu = cpuMeter({
        bridge: bridge.proc.pid,
        kubo: kubo.process.pid,
        anvil: chain.anvil.process.pid,
      });
      const gen0 = process.cpuUsage();
      const loadAt = loadAverage();
      const result = await autocannon({
        url,
        connections,
        duration: SECONDS,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: path(),
              headers: { authorization: `Bearer ${pick(tokens)}` },
            }),
          },
        ],
      });
      const used = cpu();
      const gen = process.cpuUsage(gen0);
      used['load generator'] = (gen.user + gen.system) / 1e6;
      const stages1 = await stageTotals(url);
      const ok = result['2xx'];
      const rate = ok / (result.duration || SECONDS);
      rows.push([
        workload,
        String(connections),
        fmt(rate),
        fmt(result.latency.p50, 1),
        fmt(result.latency.p99, 1),
        fmt(result.errors + result.timeouts),
        fmt(result.non2xx),
        loadAt,
      ]);
      const per = (s: string) => {
        const a = stages0.get(s) ?? { sum: 0, count: 0 };
        const b = stages1.get(s) ?? { sum: 0, count: 0 };
        return ok > 0 ? ((b.sum - a.sum) / ok) * 1000 : Number.NaN;
      };
      stageRows.push([workload, String(connections), ...STAGES.map((s) => fmt(per(s), 2))]);
      cpuRows.push([
        workload,
        String(connections),
        ...Object.values(used).map((s: number) => fmt(ok > 0 ? (s / ok) * 1e6 : Number.NaN)),
      ]);
      benchSummary([
        {
          area: 'read side',
          what: `${workload === 'read' ? 'record reads with proof' : 'record lists'}, ${connections} connection${connections > 1 ? 's' : ''}`,
          figure: `${fmt(rate)}/s, p50 ${fmt(result.latency.p50, 1)} ms, p99 ${fmt(result.latency.p99, 1)} ms, ${fmt(result.errors + result.timeouts + result.non2xx)} errors`,
          against: 'target ≥ 1,000 reads/s with p99 ≤ 50 ms (cached consent)',
        },
      ]);
      console.log(`${workload} × ${connections}: ${fmt(rate)}/s p99 ${fmt(result.latency.p99, 1)} ms`);
    }
  }
  console.log(
    `\n${table(['workload', 'connections', 'requests/s (2xx)', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'load (1/5/15)'], rows)}`,
  );
  console.log(
    `\nwhere the bridge's time went, ms per request (mean; stages overlap nothing, the rest is HTTP, JSON and waiting for the event loop):\n${table(['workload', 'connections', ...STAGES], stageRows)}`,
  );
  console.log(
    `\nCPU µs per request:\n${table(['workload', 'connections', 'bridge', 'Kubo', 'anvil', 'load generator'], cpuRows)}`,
  );
} finally {
  await bridge?.stop();
  provider.destroy();
  await Promise.all([chain.anvil.stop(), kubo.stop()]);
  await rm(dir, { recursive: true, force: true });
}
