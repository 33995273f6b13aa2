/**
 * Test harness of the bridge: real anvil + Kubo (testkit), the contracts deployed and dev
 * hospital A registered with bridge signer DEV_KEYS.bridgeA, a fresh key store, and a config.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { deployContracts } from '@ehr-anchor/contracts/deploy';
import { ensureDevNetwork } from '@ehr-anchor/stack/contracts';
import { DEV_KEYS, startAnvil, startKubo, waitFor, type Anvil, type Kubo } from '@ehr-anchor/testkit';
import { JsonRpcProvider } from 'ethers';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { parseConfig, type BridgeConfig, type BridgeConfigInput } from '../src/config.js';
import { signBody } from '../src/plugins/auth.js';

export const BEARER = 'test-bearer-secret-0123456789';
export const HMAC_SECRET = 'test-hmac-secret-0123456789abcdef';

export interface Chain {
  anvil: Anvil;
  deploymentFile: string;
  registry: string;
}

/** anvil with the registry deployed and dev hospitals A/B registered. */
export async function startChain(
  dir: string,
  anvilOptions: Parameters<typeof startAnvil>[0] = {},
): Promise<Chain> {
  const anvil = await startAnvil(anvilOptions);
  const deploymentFile = join(dir, 'deployment.json');
  const deployment = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    adminKey: DEV_KEYS.admin,
    outFile: deploymentFile,
  });
  const provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { pollingInterval: 100 });
  try {
    await ensureDevNetwork(provider, deployment.addresses.ehrRegistry);
  } finally {
    provider.destroy();
  }
  return { anvil, deploymentFile, registry: deployment.addresses.ehrRegistry };
}

/** Restarts a stopped anvil on the same port and state file (the deployment survives in the state). */
export async function restartAnvil(chain: Chain, dir: string, port: number): Promise<Chain> {
  const anvil = await startAnvil({ port, statePath: join(dir, 'anvil-state.json') });
  return { ...chain, anvil };
}

export function testConfig(
  dir: string,
  chain: { rpcUrl: string; deploymentFile: string },
  ipfsApiUrl: string,
  over: Partial<BridgeConfigInput> = {},
): BridgeConfig {
  return parseConfig({
    host: '127.0.0.1',
    port: 0,
    // info: the read side's tests scan these lines for PHI and expect some.
    logLevel: 'info',
    outbox: `sqlite:${join(dir, 'outbox.db')}`,
    ipfsApiUrl,
    rpcUrl: chain.rpcUrl,
    deploymentFile: chain.deploymentFile,
    signerKey: DEV_KEYS.bridgeA,
    keyStoreFile: join(dir, 'keys.json'),
    createKeys: true,
    batchMax: 500,
    batchMaxMs: 200,
    retryBaseMs: 50,
    retryMaxMs: 1_000,
    sources: [
      { id: 'hapi', auth: { type: 'bearer', secret: BEARER } },
      { id: 'medplum', auth: { type: 'hmac', secret: HMAC_SECRET } },
    ],
    ...over,
  });
}

/** Collects log lines in memory (to scan them for PHI). */
export function logSink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export interface Env {
  dir: string;
  chain: Chain;
  kubo: Kubo;
  stop(): Promise<void>;
}

/** Real anvil (with the registry and the dev network) and Kubo; `anvil.blockTime` for QBFT-like blocks. */
export async function startEnv(anvil: Parameters<typeof startAnvil>[0] = {}): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'ehr-bridge-test-'));
  const [chain, kubo] = await Promise.all([startChain(dir, anvil), startKubo()]);
  return {
    dir,
    chain,
    kubo,
    async stop() {
      await Promise.all([chain.anvil.stop(), kubo.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function bridgeFor(
  env: Env,
  sub: string,
  over: Partial<BridgeConfigInput> = {},
  logStream?: Writable,
) {
  const dir = join(env.dir, sub);
  const config = testConfig(
    dir,
    { rpcUrl: env.chain.anvil.rpcUrl, deploymentFile: env.chain.deploymentFile },
    env.kubo.apiUrl,
    over,
  );
  const app = await buildApp(config, logStream ? { logStream } : {});
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { app, url, config, dir };
}

export function bearer(): Record<string, string> {
  return { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' };
}

export function hmacHeaders(body: string): Record<string, string> {
  return { 'x-signature': signBody(HMAC_SECRET, body), 'content-type': 'application/fhir+json' };
}

export async function push(
  url: string,
  path: string,
  body: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
) {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'POST',
    headers: init.headers ?? (text === undefined ? { authorization: `Bearer ${BEARER}` } : bearer()),
    body: text,
  });
  const raw = (await response.json()) as Receipt | WrappedReceipt;
  // A topic notification's receipt comes wrapped in a batch-response Bundle (routes/ingest/receipt.ts).
  const receipt: Receipt = 'entry' in raw ? raw.entry[0]!.response.outcome : raw;
  return { status: response.status, body: receipt, raw };
}

interface WrappedReceipt {
  resourceType: 'Bundle';
  type: string;
  entry: { response: { status: string; outcome: Receipt } }[];
}

interface Receipt {
  resourceType: string;
  issue: {
    severity: string;
    code: string;
    diagnostics?: string;
    location?: string[];
    details?: { coding?: { system: string; code: string }[] };
  }[];
}

export async function waitAnchored(app: FastifyInstance, min: number, timeoutMs = 120_000) {
  return waitFor(
    async () => {
      const c = await app.outbox.counts();
      return c.records.received + c.records.stored + c.records.batched === 0 && c.records.anchored >= min
        ? c
        : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `${min} records anchored` },
  );
}

/**
 * A FHIR server in front of another that injects faults on purpose (tests name them as such):
 * every request is forwarded to `target` unless `fault` returns a status to answer instead (with
 * an OperationOutcome). `path` is the request path below the proxy's `/fhir`.
 */
export async function faultProxy(
  target: string,
  fault: (request: { method: string; path: string; body: Buffer }) => number | undefined,
): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url!.replace(/^\/fhir/, '');
      const status = fault({ method: req.method!, path, body });
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        res.end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}');
        return;
      }
      void fetch(`${target}${path}`, {
        method: req.method,
        headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
        ...(body.length ? { body } : {}),
      }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/fhir+json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    close: () => server.close(),
  };
}
