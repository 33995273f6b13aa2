/**
 * What the bridge's benches share: real services (Kubo with the bench's datastore, anvil with the
 * registry and the dev network), bridges as real `ehr-bridge start` processes configured by a JSON
 * file, and the bench's synthetic resources. Percentiles, tables, CPU accounting and the summary
 * rows of `npm run bench` come from @ehr-anchor/testkit (its bench helpers).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import {
  DEV_KEYS,
  freePort,
  loadBulkResources,
  loadSyntheaBundles,
  startKubo,
  startProcess,
  toolPath,
  waitFor,
  type Kubo,
  type ManagedProcess,
} from '@ehr-anchor/testkit';
import { loadKeyStore } from '../src/keys/keystore.js';
import { AtRestKeys } from '../src/outbox/sealed.js';
import { BEARER } from '../test/helpers.js';

export { BEARER };
export const OPERATOR = 'bench-operator-token-0123456789abcdef';
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

export type Resource = { resourceType: string; id?: string; [k: string]: unknown };

let templateCache: Resource[] | undefined;
/** Synthea fixture resources plus the bulk sample: what the synthetic resources are copies of. */
export function templates(): Resource[] {
  templateCache ??= [
    ...[...loadSyntheaBundles().values()].flatMap((b) =>
      b.entry!.map((e) => e.resource as unknown as Resource),
    ),
    ...(loadBulkResources([
      'Condition',
      'Encounter',
      'MedicationRequest',
      'Procedure',
      'Immunization',
    ]) as unknown as Resource[]),
  ];
  return templateCache;
}

/** The i-th synthetic resource of a run: a fixture resource under a new id (a new version each). */
export function resourceAt(run: string, i: number): Resource {
  const all = templates();
  return { ...all[i % all.length]!, id: `${run}-${i}` };
}

/** A collection Bundle of resources `from` … `to - 1` of a run, serialized. */
export function bundleBody(run: string, from: number, to: number): Buffer {
  const entry = [];
  for (let i = from; i < to; i++) entry.push({ resource: resourceAt(run, i) });
  return Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry }));
}

/**
 * Kubo as the bridge bench runs it: pebbleds (Kubo's default flatfs fsyncs every block file; a
 * bridge at volume wants pebble or IPFS Cluster). EHR_BENCH_KUBO_PROFILE=test compares with flatfs.
 */
export async function startBenchKubo(dir: string): Promise<Kubo> {
  const profile = process.env.EHR_BENCH_KUBO_PROFILE ?? 'test,pebbleds';
  const repoPath = join(dir, 'ipfs');
  const env = { ...process.env, IPFS_PATH: repoPath, IPFS_TELEMETRY: 'off' };
  execFileSync(toolPath('ipfs'), ['init', `--profile=${profile}`], { env, stdio: 'ignore' });
  return startKubo({ repoPath });
}

export interface BridgeProcess {
  proc: ManagedProcess;
  url: string;
  /** The SQLite outbox file (when the outbox is SQLite). */
  db: string;
  dir: string;
  stop(graceMs?: number): Promise<void>;
}

export interface BridgeEnv {
  rpcUrl: string;
  deploymentFile: string;
  ipfsApiUrl: string;
}

/**
 * Starts `ehr-bridge start` as its own process with a JSON config file (the bench's settings over
 * these defaults). Rate limits stay on (`limits.rateLimit: true`) with ceilings above the bench's
 * load: the limiter runs on every request as it would in production.
 */
export async function startBridgeProcess(
  dir: string,
  env: BridgeEnv,
  config: Record<string, unknown> = {},
  extraEnv: Record<string, string> = {},
): Promise<BridgeProcess> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const db = join(dir, 'outbox.db');
  const full = {
    host: '127.0.0.1',
    port,
    logLevel: 'warn',
    outbox: `sqlite:${db}`,
    ipfsApiUrl: env.ipfsApiUrl,
    rpcUrl: env.rpcUrl,
    deploymentFile: env.deploymentFile,
    signerKey: DEV_KEYS.bridgeA,
    keyStoreFile: join(dir, 'keys.json'),
    createKeys: true,
    bodyLimit: 64 * 1024 * 1024,
    operatorToken: OPERATOR,
    sources: [{ id: 'bench', auth: { type: 'bearer', secret: BEARER } }],
    ...config,
    limits: {
      rateLimit: true,
      perIp: 100_000_000,
      perSession: 100_000_000,
      perSource: 100_000_000,
      noncesPerIp: 10_000,
      ...(config.limits as object | undefined),
    },
  };
  const file = join(dir, 'bridge.json');
  writeFileSync(file, JSON.stringify(full, null, 2));
  // EHR_BENCH_PROF=<dir>: a V8 CPU profile of each bridge there (open in Chrome DevTools).
  const prof = process.env.EHR_BENCH_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.EHR_BENCH_PROF}`]
    : [];
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('EHR_BRIDGE_')),
  );
  // Any EHR_BRIDGE_* variable of the bench's environment passes through (it overrides the file).
  const overrides = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith('EHR_BRIDGE_')),
  );
  const proc = startProcess(
    process.execPath,
    [...prof, '--conditions=source', '--import', 'tsx', CLI, 'start'],
    { env: { ...passThrough, EHR_BRIDGE_CONFIG: file, ...overrides, ...extraEnv } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(proc.output().slice(-2000));
      return (await fetch(`${url}/healthz`)).ok;
    },
    { timeoutMs: 120_000, what: 'bridge to start' },
  );
  return {
    proc,
    url,
    db,
    dir,
    stop: (graceMs = process.env.EHR_BENCH_PROF ? 120_000 : 5_000) => proc.stop(graceMs),
  };
}

export interface OutboxStatus {
  records: Record<'received' | 'stored' | 'batched' | 'anchored', number>;
  batches: Record<string, number>;
}

/** The outbox counts of a bridge (`GET /status` with the operator credential). */
export async function status(url: string): Promise<OutboxStatus> {
  const res = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${OPERATOR}` } });
  if (!res.ok) throw new Error(`status: ${res.status}`);
  return (await res.json()) as OutboxStatus;
}

/** POSTs one serialized Bundle as the bench source; throws unless it was accepted (202). */
export async function pushBody(url: string, body: Buffer): Promise<void> {
  const res = await fetch(`${url}/fhir`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' },
    body,
  });
  if (res.status !== 202) throw new Error(`push failed: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Seconds since `t0` (ms), one decimal. */
export const secondsSince = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

/**
 * The anchored time (ms, the bridge's `anchored_at`) of every anchored record of a run, by its index
 * in the run (resource id `<run>-<i>`), from a SQLite outbox opened read-only. Resource ids are sealed
 * at rest (outbox/sealed.ts): opened with the key store beside the outbox.
 */
export function anchoredAt(db: string, run: string): Map<number, number> {
  const keys = new AtRestKeys(loadKeyStore(join(dirname(db), 'keys.json')).pseudonymKey());
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    const rows = sqlite
      .prepare(
        'SELECT resource_type, resource_key, resource_ref, anchored_at FROM records WHERE anchored_at IS NOT NULL',
      )
      .all() as {
      resource_type: string;
      resource_key: string;
      resource_ref: Uint8Array;
      anchored_at: number;
    }[];
    const out = new Map<number, number>();
    for (const r of rows) {
      const id = keys.openId(r.resource_type, r.resource_key, r.resource_ref);
      if (id.startsWith(`${run}-`)) out.set(Number(id.slice(run.length + 1)), Number(r.anchored_at));
    }
    return out;
  } finally {
    sqlite.close();
  }
}
