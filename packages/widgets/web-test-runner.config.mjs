// @web/test-runner: every element's tests in real Chromium (run through tsx, see package.json).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromium, stackProxy, stackSettings } from './web-test-runner.shared.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
/** The repository's fixtures (Synthea bundles, XSS corpus), like @ehr-anchor/testkit's fixturesDir. */
const fixturesDir = join(repoRoot, 'fixtures');

/** Serves fixtures/ at /fixtures/ (read-only, no directory listing). */
function fixturesMiddleware(ctx, next) {
  if (!ctx.path.startsWith('/fixtures/')) return next();
  const file = normalize(join(fixturesDir, decodeURIComponent(ctx.path.slice('/fixtures/'.length))));
  if (!file.startsWith(fixturesDir) || !existsSync(file) || !statSync(file).isFile()) {
    ctx.status = 404;
    return undefined;
  }
  ctx.type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
  ctx.body = createReadStream(file);
  return undefined;
}

/**
 * POST /__upload-sink: reads the whole request body and answers with its size, so the XHR upload
 * transport is tested against a real HTTP server (its progress events are the browser's own).
 */
async function uploadSink(ctx, next) {
  if (ctx.path !== '/__upload-sink' || ctx.method !== 'POST') return next();
  let bytes = 0;
  for await (const chunk of ctx.req) bytes += chunk.length;
  ctx.status = 201;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ bytes });
  return undefined;
}

/**
 * Injected fault, /__tampering-bridge/: a bridge whose stored records all fail its own checks. It
 * answers the read API's routes the way the real bridge does for tampered records (see
 * packages/fhir-bridge/src/read/README.md "Tamper evidence"): the list as usual, and every
 * `GET /records/{seq}` but the Patient's with 409 and the tamper reason in `details.coding`.
 * Synthetic data only. Seq 2: content-changed, seq 3: cid-mismatch.
 */
const TAMPER_SUBJECT = `0x${'5a'.repeat(32)}`;
const tamperedRecords = [
  {
    seq: 3,
    resourceType: 'Immunization',
    resourceId: 'imm-b',
    category: 'immunizations',
    date: '2020-03-01T00:00:00Z',
    reason: 'cid-mismatch',
    diagnostics:
      'record failed verification (cid-mismatch): IPFS returned bytes whose CID is bafy-other, not bafy-stored',
  },
  {
    seq: 2,
    resourceType: 'Immunization',
    resourceId: 'imm-a',
    category: 'immunizations',
    date: '2020-02-01T00:00:00Z',
    reason: 'content-changed',
    diagnostics:
      'record failed verification (content-changed): the content hash differs from the anchored one',
  },
];
function tamperingBridge(ctx, next) {
  if (!ctx.path.startsWith('/__tampering-bridge/')) return next();
  const path = ctx.path.slice('/__tampering-bridge'.length);
  const item = (r, category) => ({
    seq: r.seq,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    versionId: '1',
    category,
    state: 'anchored',
    receivedAt: '2024-01-01T00:00:00Z',
    anchoredAt: '2024-01-01T00:01:00Z',
    date: r.date ?? null,
    erased: false,
  });
  const patient = { seq: 1, resourceType: 'Patient', resourceId: 'synthetic-patient', date: null };
  ctx.type = 'application/fhir+json';
  if (path === `/patients/${TAMPER_SUBJECT}/records`) {
    const demographics = ctx.query.category === 'demographics';
    ctx.body = JSON.stringify({
      subject: TAMPER_SUBJECT,
      items: demographics ? [item(patient, 'demographics')] : tamperedRecords.map((r) => item(r, r.category)),
    });
    return undefined;
  }
  if (path === '/records/1') {
    const resource = {
      resourceType: 'Patient',
      id: 'synthetic-patient',
      meta: { versionId: '1' },
      name: [{ family: 'Synthetic', given: ['Test'] }],
    };
    const leaf = {
      subject: TAMPER_SUBJECT,
      resourceType: 'Patient',
      resourceId: 'synthetic-patient',
      versionId: '1',
      contentHash: `0x${'00'.repeat(32)}`,
      payloadCid: 'bafy-patient',
      salt: `0x${'11'.repeat(32)}`,
    };
    ctx.body = JSON.stringify({
      seq: 1,
      category: 'demographics',
      resource,
      leaf,
      leafHash: `0x${'22'.repeat(32)}`,
      proof: null,
      anchor: null,
      state: 'stored',
    });
    return undefined;
  }
  const m = /^\/records\/(\d+)(\/state)?$/.exec(path);
  const r = m && tamperedRecords.find((t) => t.seq === Number(m[1]));
  if (r && m[2]) {
    ctx.body = JSON.stringify({
      seq: r.seq,
      resourceType: r.resourceType,
      state: 'anchored',
      payloadCid: 'bafy-stored',
      anchor: null,
      erased: false,
    });
    return undefined;
  }
  if (r) {
    ctx.status = 409;
    ctx.body = JSON.stringify({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'processing',
          diagnostics: r.diagnostics,
          details: { coding: [{ system: 'urn:ehr-anchor:tamper', code: r.reason }] },
        },
      ],
    });
    return undefined;
  }
  ctx.status = 404;
  ctx.body = JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', diagnostics: 'not found' }],
  });
  return undefined;
}

const integration = process.env.EHR_WIDGETS_INTEGRATION === '1';

/**
 * Integration mode (`npm run test:integration`): the real stack of the bridge's read-side tests —
 * anvil with the contracts, Kubo, the bridge over HTTP with a Synthea patient ingested and
 * anchored, and the consent cast on chain. The page reaches the bridge through /bridge/ on the
 * test server (same origin, as a portal's reverse proxy would) and the chain at anvil's RPC URL.
 */
let world;
const stack = {
  name: 'ehr-stack',
  async serverStart() {
    if (!integration) return;
    const { startReadWorld } = await import('../fhir-bridge/test/read-harness.ts');
    world = await startReadWorld();
    dishonest = await anotherPatientsRecord(world);
  },
  async serverStop() {
    await world?.stop();
  },
};

/**
 * Another patient with genuine, anchored records at the same bridge (the Synthea "small" patient),
 * registered to the other patient's wallet, who grants the granted doctor everything: so a
 * dishonest bridge (below) has a genuine record of someone else to serve.
 */
async function anotherPatientsRecord(world) {
  const { DEV_KEYS, loadSyntheaBundles } = await import('@ehr-anchor/testkit');
  const { push, waitAnchored } = await import('../fhir-bridge/test/helpers.ts');
  const { send } = await import('../fhir-bridge/test/read-harness.ts');
  const { pseudonym } = await import('@ehr-anchor/core');
  const { ALL_SCOPES, NO_EXPIRY } = await import('@ehr-anchor/contracts');
  const { Wallet } = await import('ethers');
  const bundle = loadSyntheaBundles().get('small-louis-erdman.json');
  const before = (await world.bridge.app.outbox.counts()).records.anchored;
  const res = await push(world.bridge.url, '/fhir', bundle);
  if (res.status !== 202) throw new Error(`ingest of the other patient failed: ${res.status}`);
  await waitAnchored(world.bridge.app, before + bundle.entry.length);
  const patient = bundle.entry.find((e) => e.resource?.resourceType === 'Patient').resource;
  const subject = await pseudonym(patient.id, world.bridge.app.keyStore.pseudonymKey());
  const hospitalA = new Wallet(DEV_KEYS.hospitalA).address;
  await send(world.as(DEV_KEYS.visitor), 'requestRegistration', hospitalA, subject);
  await send(world.as(DEV_KEYS.hospitalA), 'approveRegistration', new Wallet(DEV_KEYS.visitor).address);
  await send(
    world.as(DEV_KEYS.visitor),
    'grantAccess',
    new Wallet(DEV_KEYS.doctorA).address,
    ALL_SCOPES,
    NO_EXPIRY,
  );
  const observation = async (s) =>
    (await world.bridge.app.outbox.bySubject(s, 100_000)).find((r) => r.resourceType === 'Observation').seq;
  return { mine: await observation(world.subject.toLowerCase()), theirs: await observation(subject) };
}
let dishonest;

/**
 * Injected fault, /dishonest-bridge/: the real bridge, except that the record with seq `mine` (one
 * of the patient's Observations) is answered with `theirs` — another patient's genuine, anchored
 * Observation — as a dishonest or compromised bridge could.
 */
const dishonestProxy = stackProxy(
  '/__dishonest.json',
  () => (integration && dishonest ? world?.bridge.url : undefined),
  async () => ({ swappedKey: String(dishonest.mine) }),
);
async function dishonestBridge(ctx, next) {
  if (!ctx.path.startsWith('/dishonest-bridge/') && ctx.path !== '/__dishonest.json') return next();
  if (ctx.path.startsWith('/dishonest-bridge/')) {
    const rest = ctx.url
      .slice('/dishonest-bridge'.length)
      .replace(`/records/${dishonest?.mine}`, `/records/${dishonest?.theirs}`);
    ctx.url = `/bridge${rest}`;
  }
  return dishonestProxy(ctx, next);
}

const stackMiddleware = stackProxy(
  '/__stack.json',
  () => (integration ? world?.bridge.url : undefined),
  async () => {
    const { DEV_KEYS } = await import('@ehr-anchor/testkit');
    const { Wallet } = await import('ethers');
    return {
      ...stackSettings(world),
      // anvil's public dev keys: the test wallets sign with them in the page.
      patientKey: DEV_KEYS.patient,
      doctorKey: DEV_KEYS.doctorA,
      adminKey: DEV_KEYS.admin,
      // The synthetic (Synthea) patient's family name, for the doctor's search.
      family: world.patient.name?.[0]?.family,
      hospitalKey: DEV_KEYS.hospitalA,
      doctorB: world.wallets['doctor of granted hospital'].address,
      // A doctor with no grant of the patient's yet (the scope test adds them to hospital A).
      freshDoctorKey: DEV_KEYS.healthWorker,
      hospitalB: new Wallet(DEV_KEYS.hospitalB).address,
    };
  },
);

export default {
  rootDir: repoRoot,
  files: integration
    ? ['test/integration/**/*.test.ts']
    : [process.env.EHR_WIDGETS_TESTS ?? 'src/**/*.test.ts'],
  nodeResolve: { exportConditions: ['source', 'browser'], browser: true },
  concurrency: 1,
  concurrentBrowsers: 1,
  testsFinishTimeout: 10 * 60 * 1000,
  // The integration stack takes a while to start on a shared 2-core machine.
  testsStartTimeout: 5 * 60 * 1000,
  browserStartTimeout: 120_000,
  testFramework: { config: { timeout: 60_000 } },
  middleware: [fixturesMiddleware, uploadSink, tamperingBridge, dishonestBridge, stackMiddleware],
  plugins: [stack, esbuildPlugin({ ts: true, target: 'es2022', tsconfig: join(here, 'tsconfig.json') })],
  browsers: [chromium()],
};
