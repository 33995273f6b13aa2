/**
 * The end-to-end stack: the same parts `npm start` runs (anvil, Kubo, contracts, the HAPI FHIR
 * server, bridge, demo), called programmatically with testkit on OS-chosen loopback ports and a
 * throw-away data dir, so a run never collides with someone's `npm start`.
 *
 * One difference, on purpose: the Synthea fixtures are not preloaded. The bridge part loads them
 * only when its outbox has no `stack:fixtures` mark; the harness sets that mark and subscribes the
 * bridge to HAPI itself (the same REST-hook Subscription the bridge part makes), so flow 3 can push
 * the patient's Synthea bundle into HAPI and watch it arrive, pending, then verified.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createRestHookSubscription,
  startAnvil,
  startCluster,
  startKubo,
  stopAll,
} from '@ehr-anchor/testkit';
import { openOutbox, type RunningBridge } from '@ehr-anchor/fhir-bridge';
import { DEV_SOURCE_SECRET } from '@ehr-anchor/stack/bridge';
import type { StackContext, StackUp } from '@ehr-anchor/stack/context';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export interface E2eStack {
  values: Record<string, string>;
  /** The running bridges, hospital A's first (two with `hospitals: 2`). */
  bridges: RunningBridge[];
  /** The stack's data dir (bridge outbox, keys, …), deleted by stop(). */
  dataDir: string;
  demoUrl: string;
  /** HAPI's FHIR base URL (the stack's FHIR server). */
  fhirBaseUrl: string;
  stop(): Promise<void>;
}

type Part = () => Promise<{ up?: StackUp }>;

async function runPart(
  name: string,
  load: Part,
  ctx: StackContext,
  stops: Array<() => Promise<void>>,
): Promise<void> {
  const { up } = await load();
  if (!up) throw new Error(`${name} has no stack part`);
  const handle = await up(ctx);
  if (handle?.stop) stops.push(handle.stop.bind(handle));
}

/**
 * Starts the stack; the caller must `stop()` it (also on failure). `hospitals: 2` runs the
 * two-hospital layout of `npm start`: two Kubo nodes in one private network, a HAPI server and a
 * bridge per hospital, each bridge subscribed to its own server and publishing its URL on chain.
 */
export async function startStack(
  log: (m: string) => void = (m) => console.log(`# ${m}`),
  { hospitals = 1 }: { hospitals?: 1 | 2 } = {},
): Promise<E2eStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ehr-e2e-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log(`stop failed: ${String(e)}`));
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const anvil = await startAnvil();
    stops.push(() => anvil.stop());
    const values: Record<string, string> = { rpcUrl: anvil.rpcUrl, chainId: '1337' };
    if (hospitals === 1) {
      const kubo = await startKubo();
      stops.push(() => kubo.stop());
      Object.assign(values, { ipfsApiUrl: kubo.apiUrl, ipfsGatewayUrl: kubo.gatewayUrl });
    } else {
      const cluster = await startCluster({ nodes: 2 });
      stops.push(() => cluster.stop());
      Object.assign(values, {
        hospitals: '2',
        ipfsApiUrl: cluster.nodes[0]!.apiUrl,
        ipfsGatewayUrl: cluster.nodes[0]!.gatewayUrl,
        ipfsApiUrlB: cluster.nodes[1]!.apiUrl,
        ipfsGatewayUrlB: cluster.nodes[1]!.gatewayUrl,
      });
    }
    const ctx: StackContext = { dataDir, values, row: (r) => log(`${r.name}: ${r.url}`), log };
    // Free ports for the parts that default to fixed ones.
    process.env.EHR_BRIDGE_PORT = '0';
    process.env.EHR_DEMO_PORT = '0';
    process.env.EHR_FHIR_PORT = '0';
    // HAPI starts slowly (a JVM on a shared machine): it starts while the contracts deploy.
    await Promise.all([
      runPart('fhir-server', () => import('@ehr-anchor/stack/fhir-server'), ctx, stops),
      runPart('contracts', () => import('@ehr-anchor/stack/contracts'), ctx, stops),
    ]);
    const fhirBaseUrl = ctx.values.fhirBaseUrl;
    if (!fhirBaseUrl) throw new Error('the FHIR server part published no fhirBaseUrl');
    // The bridge part's "fixtures already loaded" mark (see the file comment), in each bridge's outbox.
    for (const dir of hospitals === 1 ? ['bridge'] : ['bridge', 'bridge-b']) {
      mkdirSync(join(dataDir, dir), { recursive: true });
      const outbox = await openOutbox(`sqlite:${join(dataDir, dir, 'outbox.db')}`);
      await outbox.setState('stack:fixtures', 'left to the e2e flows');
      await outbox.close();
    }
    const { startBridges } = await import('@ehr-anchor/stack/bridge');
    const part = await startBridges(ctx);
    stops.push(() => part.stop());
    for (const suffix of hospitals === 1 ? [''] : ['', 'B'])
      await createRestHookSubscription(
        ctx.values[`fhirBaseUrl${suffix}`]!,
        `${ctx.values[`bridgeUrl${suffix}`]}/fhir`,
        [`Authorization: Bearer ${DEV_SOURCE_SECRET}`],
      );
    await runPart('demo', () => import('@ehr-anchor/stack/demo'), ctx, stops);
    return {
      values: ctx.values,
      bridges: part.bridges,
      dataDir,
      demoUrl: ctx.values.demoUrl!,
      fhirBaseUrl,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A JSON-RPC call to the stack's anvil (mining control for flow 3). */
export async function rpc<T = unknown>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export const artifactsDir = resolve(import.meta.dirname, '..', '..', 'test-results');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** A page of the portal signed in as `role` (the dev wallet signs; no browser wallet exists here). */
export async function portalAs(
  context: BrowserContext,
  demoUrl: string,
  role: string,
  page = 'react.html',
): Promise<Page> {
  const p = await context.newPage();
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(`${demoUrl}/${page}?role=${role}`);
  (p as Page & { errors?: string[] }).errors = errors;
  return p;
}

/** Saves a screenshot as a test artifact (demo/test-results/<flow>/<step>.png). */
export async function shot(page: Page, flow: string, step: string, fullPage = true): Promise<void> {
  const dir = join(artifactsDir, flow);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${step}.png`), fullPage });
}

/** Saves a screenshot of one element (demo/test-results/<flow>/<step>.png). */
export async function shotOf(element: Locator, flow: string, step: string): Promise<void> {
  const dir = join(artifactsDir, flow);
  mkdirSync(dir, { recursive: true });
  await element.screenshot({ path: join(dir, `${step}.png`) });
}

export function writeArtifact(flow: string, name: string, text: string): void {
  const dir = join(artifactsDir, flow);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
}
