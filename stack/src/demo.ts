/**
 * The demo part of `npm start`: builds the portal pages (buildDemo: the widgets' ESM with `tsc -b`,
 * the one-file bundle with rollup, then `vite build`), registers the dev patient account as the patient of the first sample bundle (the
 * way a hospital's registration desk would, so the Patient role has a record to look at), and
 * serves the portal on loopback with the stack's bridge, chain and contract injected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pseudonym } from '@ehr-anchor/core';
import { ehrRegistryAbi } from '@ehr-anchor/contracts';
import { ROLES, type PortalConfig } from '@ehr-anchor/demo/config';
import { startDemoServer } from '@ehr-anchor/demo/server';
import { DEV_KEYS, SYNTHEA_FILES, repoRoot, syntheaDir } from '@ehr-anchor/testkit';
import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { StartError, type StackContext, type StackUp } from './context.js';
import { HOSPITAL_SAMPLES, idAtHospitalB, type DevHospitalKey } from './hospital-fixtures.js';
import { SITES, sitesOf, valueKey, type Site } from './sites.js';

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

/** Build steps running now: `npm start` stops them when it is told to stop. */
export const runningBuilds = new Set<ChildProcess>();

/** Runs one build step with its output on the terminal; a failure stops the start, never "carries on". */
function build(step: string, command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    runningBuilds.add(child);
    child.once('error', (error) => reject(new StartError(`${step} could not run (${error.message}).`)));
    child.once('exit', (code, signal) => {
      runningBuilds.delete(child);
      if (code === 0) resolve();
      else
        reject(
          new StartError(
            signal
              ? `${step} was stopped (${signal}).`
              : `${step} failed (${[command.split('/').pop(), ...args].join(' ')}): its output is above.`,
          ),
        );
    });
  });
}

/** The one-file bundle the widgets' rollup build writes (dist/bundle/*.js), if there is one. */
export function findBundle(): string | undefined {
  const dir = join(widgetsDir, 'dist', 'bundle');
  if (!existsSync(dir)) return undefined;
  const files = globSync('*.js', { cwd: dir }).filter((f) => !f.endsWith('.map'));
  const preferred = files.find((f) => /ehr-anchor|widgets|all|bundle/.test(f)) ?? files[0];
  return preferred ? join(dir, preferred) : undefined;
}

/**
 * Brings everything the portal pages are made of up to date, in dependency order, and stops at the
 * first step that fails:
 * 1. `tsc -b packages/widgets` — the widgets' ESM and, through its project references, core's and
 *    contracts' `dist` (the React page imports the elements' ESM build, which imports them);
 * 2. rollup — the one-file bundle of the plain HTML page (from the sources);
 * 3. `vite build` — the two pages.
 * tsc is incremental; rollup and vite run only when a source is newer than their output.
 */
export async function buildDemo(log: (m: string) => void): Promise<void> {
  if (demoBuilt) return;
  const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
  log('demo: building the widgets and what they import (tsc -b packages/widgets)');
  await build('Building the widgets', bin('tsc'), ['-b', 'packages/widgets'], repoRoot);
  const sources = Math.max(
    newest(widgetsDir, ['src/**/*.ts', 'package.json']),
    newest(join(repoRoot, 'packages', 'core'), ['src/**/*.ts']),
    newest(join(repoRoot, 'packages', 'contracts'), ['src/**/*.{ts,json}']),
    mtime(join(repoRoot, 'rollup.config.mjs')),
  );
  const bundle = findBundle();
  if (!bundle || mtime(bundle) < sources) {
    log('demo: building the widgets one-file bundle (rollup)');
    await build(
      'Building the one-file bundle',
      bin('rollup'),
      ['-c', join(repoRoot, 'rollup.config.mjs'), '--silent'],
      widgetsDir,
    );
  }
  const pages = join(demoDir, 'dist', 'pages', 'index.html');
  if (
    mtime(pages) < Math.max(sources, newest(demoDir, ['src/**/*.{ts,tsx,css}', '*.html', 'vite.config.ts']))
  ) {
    log('demo: building the portal pages (vite build)');
    await build('Building the portal pages', bin('vite'), ['build', '--logLevel', 'warn'], demoDir);
  }
  demoBuilt = true;
}

/** Set once buildDemo succeeded in this process (npm start builds first, the part then skips it). */
let demoBuilt = false;

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

/**
 * Registers the dev patient wallet as the patient of `subject` at `hospital` (the way its
 * registration desk would), unless that subject already has a patient. A wallet may hold subjects
 * at several hospitals: the dev patient is seen at A and at B.
 */
async function ensureDevPatient(
  ctx: StackContext,
  rpcUrl: string,
  registryAddress: string,
  hospital: DevHospitalKey,
  subject: string,
): Promise<void> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const as = (key: string) =>
      new Contract(registryAddress, ehrRegistryAbi, new NonceManager(new Wallet(key, provider)));
    const reader = new Contract(registryAddress, ehrRegistryAbi, provider);
    const patient = new Wallet(DEV_KEYS.patient).address;
    if ((await reader.getFunction('patientOf')(subject)) !== '0x0000000000000000000000000000000000000000')
      return;
    await (
      await as(DEV_KEYS.patient).getFunction('requestRegistration')(
        new Wallet(DEV_KEYS[hospital]).address,
        subject,
      )
    ).wait();
    await (await as(DEV_KEYS[hospital]).getFunction('approveRegistration')(patient)).wait();
    ctx.log(
      `demo: the dev patient account is registered at hospital ${SITES[hospital].letter} for its record there`,
    );
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
  await buildDemo(ctx.log);
  const sites = sitesOf(ctx.values);
  const keyStoreOf = (site: Site) =>
    ctx.values[valueKey(site, 'bridgeKeyStoreFile')] ?? join(ctx.dataDir, `bridge${site.dir}`, 'keys.json');
  // The registration desk (hospital A's): the subjects of the sample patients A holds.
  const desk: Array<{ sample: string; subject: string }> = [];
  const atA = sites.length > 1 ? [...HOSPITAL_SAMPLES.shared, ...HOSPITAL_SAMPLES.hospitalA] : SAMPLES;
  if (existsSync(keyStoreOf(SITES.hospitalA))) {
    for (const sample of atA)
      desk.push({
        sample,
        subject: await subjectOf(keyStoreOf(SITES.hospitalA), samplePatientId(syntheaDir, sample)),
      });
    // The dev patient is the first sample's person: at A under A's id, at B (seen there too) under B's.
    const firstId = samplePatientId(syntheaDir, SAMPLES[0]!);
    for (const site of sites) {
      if (!existsSync(keyStoreOf(site))) continue;
      const id = site.letter === 'A' ? firstId : idAtHospitalB(firstId);
      await ensureDevPatient(
        ctx,
        rpcUrl,
        ehrRegistryAddress,
        site.key,
        await subjectOf(keyStoreOf(site), id),
      );
    }
  } else ctx.log('demo: no bridge key store found; the dev patient account stays unregistered');

  const fromBlock =
    deploymentFile && existsSync(deploymentFile)
      ? (JSON.parse(readFileSync(deploymentFile, 'utf8')) as { block?: number }).block
      : undefined;
  const bundleFile = findBundle();
  const config: PortalConfig = {
    bridgeUrl,
    ...(sites.length > 1 ? { network: true } : {}),
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
