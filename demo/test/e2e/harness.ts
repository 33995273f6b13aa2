/**
 * The end-to-end stack: the same parts `npm start` runs (anvil, Kubo, contracts, bridge, demo),
 * called programmatically with testkit on OS-chosen loopback ports and a throw-away data dir, so a
 * run never collides with someone's `npm start`. The FHIR server part (HAPI) is left out: the
 * bridge part then pushes the Synthea bundles itself, which is what the FHIR server would do.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sharedDir, startAnvil, startKubo, stopAll, type StackContext, type StackUp } from '@ehr-anchor/testkit';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export interface E2eStack {
  values: Record<string, string>;
  /** The stack's data dir (bridge outbox, keys, …), deleted by stop(). */
  dataDir: string;
  demoUrl: string;
  stop(): Promise<void>;
}

/** Starts the stack; the caller must `stop()` it (also on failure). */
export async function startStack(log: (m: string) => void = (m) => console.log(`# ${m}`)): Promise<E2eStack> {
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
    const kubo = await startKubo();
    stops.push(() => kubo.stop());
    const ctx: StackContext = {
      dataDir,
      sharedDir,
      values: { rpcUrl: anvil.rpcUrl, chainId: '1337', ipfsApiUrl: kubo.apiUrl, ipfsGatewayUrl: kubo.gatewayUrl },
      row: (r) => log(`${r.name}: ${r.url}`),
      log,
    };
    // Free ports for the parts that default to fixed ones.
    process.env.EHR_BRIDGE_PORT = '0';
    process.env.EHR_DEMO_PORT = '0';
    const parts: Array<[string, () => Promise<{ up?: StackUp }>]> = [
      ['contracts', () => import('@ehr-anchor/contracts/stack')],
      ['bridge', () => import('@ehr-anchor/fhir-bridge/stack')],
      ['demo', () => import('../../src/stack.js')],
    ];
    for (const [name, load] of parts) {
      const { up } = await load();
      if (!up) throw new Error(`${name} has no stack part`);
      const handle = await up(ctx);
      if (handle?.stop) stops.push(handle.stop.bind(handle));
    }
    return { values: ctx.values, dataDir, demoUrl: ctx.values.demoUrl!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const artifactsDir = resolve(import.meta.dirname, '..', '..', 'test-results');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A page of the portal signed in as `role` (the dev wallet signs; no browser wallet exists here). */
export async function portalAs(context: BrowserContext, demoUrl: string, role: string, page = 'react.html'): Promise<Page> {
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
