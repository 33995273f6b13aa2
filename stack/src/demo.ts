/**
 * The demo part of `npm start`: builds the portal pages when their sources changed (the widgets'
 * ESM build with `tsc -b`, the one-file bundle with the widgets' own build when it exists, then
 * `vite build`), registers the dev patient account as the patient of the first sample bundle (the
 * way a hospital's registration desk would, so the Patient role has a record to look at), and
 * serves the portal on loopback with the stack's bridge, chain and contract injected.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pseudonym } from '@ehr-anchor/core';
import { ehrRegistryAbi } from '@ehr-anchor/contracts';
import { ROLES, type PortalConfig } from '@ehr-anchor/demo/config';
import { startDemoServer } from '@ehr-anchor/demo/server';
import { DEV_KEYS, SYNTHEA_FILES, repoRoot, syntheaDir } from '@ehr-anchor/testkit';
import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import type { StackContext, StackUp } from './context.js';

const demoDir = join(repoRoot, 'demo');
const widgetsDir = join(repoRoot, 'packages', 'widgets');

/** The sample bundles, smallest first; the first one belongs to the dev patient account. */
export const SAMPLES: string[] = [...SYNTHEA_FILES];

function newest(dir: string, patterns: string[]): number {
  let t = 0;
  for (const p of patterns)
    for (const f of globSync(p, { cwd: dir })) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  return t;
}

function mtime(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

function run(command: string, args: string[], cwd: string): boolean {
  const r = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0;
}

/** The one-file bundle the widgets' rollup build writes (dist/bundle/*.js), if there is one. */
export function findBundle(): string | undefined {
  const dir = join(widgetsDir, 'dist', 'bundle');
  if (!existsSync(dir)) return undefined;
  const files = globSync('*.js', { cwd: dir }).filter((f) => !f.endsWith('.map'));
  const preferred = files.find((f) => /ehr-anchor|widgets|all|bundle/.test(f)) ?? files[0];
  return preferred ? join(dir, preferred) : undefined;
}

/** Brings demo/dist (and the widgets builds it uses) up to date with their sources. */
export function buildDemo(log: (m: string) => void): void {
  const widgetsSources = newest(widgetsDir, ['src/**/*.ts', 'package.json']);
  const esm = join(widgetsDir, 'dist', 'src', 'index.js');
  if (mtime(esm) < widgetsSources) {
    log('demo: building the widgets ESM (tsc -b packages/widgets)');
    // Emits even when some other package has a type error; the pages only need the JS.
    run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/widgets'], repoRoot);
  }
  if (existsSync(join(repoRoot, 'rollup.config.mjs'))) {
    const bundle = findBundle();
    if (!bundle || mtime(bundle) < widgetsSources) {
      log('demo: building the widgets one-file bundle (npm run build -w @ehr-anchor/widgets)');
      if (!run('npm', ['run', 'build', '-w', '@ehr-anchor/widgets'], repoRoot))
        log('demo: the widgets build reported a problem; using what it produced');
    }
  }
  const built = join(demoDir, 'dist', 'pages', 'index.html');
  // The widgets' sources count too: `tsc -b` leaves an unchanged dist/src/index.js with its old
  // mtime, so the ESM file alone does not show that some other element changed.
  const sources = Math.max(
    newest(demoDir, ['src/**/*.{ts,tsx,css}', '*.html', 'vite.config.ts']),
    mtime(esm),
    widgetsSources,
  );
  if (mtime(built) < sources) {
    log('demo: building the portal pages (vite build)');
    if (!run(join(repoRoot, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], demoDir))
      throw new Error('demo: vite build failed');
  }
}

/** The patient id of a sample bundle (never logged). */
export function samplePatientId(samplesDir: string, sample: string): string {
  const bundle = JSON.parse(readFileSync(join(samplesDir, sample), 'utf8')) as {
    entry?: Array<{ resource?: { resourceType?: string; id?: string } }>;
  };
  const id = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
  if (!id) throw new Error(`${sample} has no Patient`);
  return id;
}

/** The leaf subject the bridge uses for a patient id (its pseudonym key is in its key store file). */
export async function subjectOf(keyStoreFile: string, patientId: string): Promise<string> {
  const { pseudonymKey } = JSON.parse(readFileSync(keyStoreFile, 'utf8')) as { pseudonymKey: string };
  return pseudonym(patientId, Uint8Array.from(Buffer.from(pseudonymKey.replace(/^0x/, ''), 'hex')));
}

/** Registers the dev patient wallet as the patient of `subject` at hospital A, unless it already is a patient. */
async function ensureDevPatient(
  ctx: StackContext,
  rpcUrl: string,
  registryAddress: string,
  subject: string,
): Promise<void> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const as = (key: string) =>
      new Contract(registryAddress, ehrRegistryAbi, new NonceManager(new Wallet(key, provider)));
    const reader = new Contract(registryAddress, ehrRegistryAbi, provider);
    const patient = new Wallet(DEV_KEYS.patient).address;
    const hospital = new Wallet(DEV_KEYS.hospitalA).address;
    if (await reader.getFunction('isPatient')(patient)) return;
    if ((await reader.getFunction('patientOf')(subject)) !== '0x0000000000000000000000000000000000000000')
      return;
    await (await as(DEV_KEYS.patient).getFunction('requestRegistration')(hospital, subject)).wait();
    await (await as(DEV_KEYS.hospitalA).getFunction('approveRegistration')(patient)).wait();
    ctx.log('demo: the dev patient account is registered at hospital A for the first sample record');
  } finally {
    provider.destroy();
  }
}

export const up: StackUp = async (ctx) => {
  const { bridgeUrl, rpcUrl, chainId, ehrRegistryAddress, deploymentFile, bridgeSourceSecret, fhirBaseUrl } =
    ctx.values;
  if (!bridgeUrl || !rpcUrl || !ehrRegistryAddress || !bridgeSourceSecret) {
    throw new Error(
      'demo: needs bridgeUrl, bridgeSourceSecret, rpcUrl and ehrRegistryAddress from earlier parts',
    );
  }
  buildDemo(ctx.log);
  const keyStoreFile = ctx.values.bridgeKeyStoreFile ?? join(ctx.dataDir, 'bridge', 'keys.json');
  const desk: Array<{ sample: string; subject: string }> = [];
  if (existsSync(keyStoreFile)) {
    for (const sample of SAMPLES)
      desk.push({ sample, subject: await subjectOf(keyStoreFile, samplePatientId(syntheaDir, sample)) });
    await ensureDevPatient(ctx, rpcUrl, ehrRegistryAddress, desk[0]!.subject);
  } else ctx.log('demo: no bridge key store found; the dev patient account stays unregistered');

  const fromBlock =
    deploymentFile && existsSync(deploymentFile)
      ? (JSON.parse(readFileSync(deploymentFile, 'utf8')) as { block?: number }).block
      : undefined;
  const bundleFile = findBundle();
  const config: PortalConfig = {
    bridgeUrl,
    rpcUrl,
    chainId: Number(chainId ?? 1337),
    contractAddress: ehrRegistryAddress,
    ...(fromBlock !== undefined ? { fromBlock } : {}),
    accounts: ROLES.map(({ role, label }) => {
      const key = DEV_KEYS[role as keyof typeof DEV_KEYS];
      return { role, label, key, address: new Wallet(key).address };
    }),
    samples: SAMPLES,
    ...(bundleFile ? { bundleUrl: 'vendor/ehr-anchor.js' } : {}),
    ...(fhirBaseUrl ? { fhirBaseUrl } : {}),
  };
  const server = await startDemoServer({
    root: join(demoDir, 'dist', 'pages'),
    config,
    samplesDir: syntheaDir,
    bridgeUrl,
    sourceSecret: bridgeSourceSecret,
    fhirBaseUrl,
    bundleFile,
    desk,
    port: Number(process.env.EHR_DEMO_PORT ?? 5173),
  });
  ctx.values.demoUrl = server.url;
  ctx.row({
    name: 'demo portal',
    url: server.url,
    note: `plain HTML ${server.url}/ · React ${server.url}/react.html · roles in the switcher${bundleFile ? '' : ' (one-file bundle not built)'}`,
  });
  return { stop: () => server.close() };
};
