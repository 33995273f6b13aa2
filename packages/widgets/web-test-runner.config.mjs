// @web/test-runner: every element's tests in real Chromium (run through tsx, see package.json).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
/** `../shared` beside the checkout, like @ehr-anchor/testkit's sharedDir. */
const sharedDir = process.env.EHR_SHARED_DIR ?? join(repoRoot, '..', 'shared');
const fixturesDir = join(sharedDir, 'fixtures');

/** Serves shared/fixtures at /fixtures/ (read-only, no directory listing). */
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
  },
  async serverStop() {
    await world?.stop();
  },
};

async function stackMiddleware(ctx, next) {
  if (!integration || !world) return next();
  if (ctx.path === '/__stack.json') {
    const { DEV_KEYS } = await import('@ehr-anchor/testkit');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({
      bridgeUrl: '/bridge',
      rpcUrl: world.env.chain.anvil.rpcUrl,
      chainId: 1337,
      contractAddress: world.env.chain.registry,
      subject: world.subject,
      // anvil's public dev keys: the test wallets sign with them in the page.
      patientKey: DEV_KEYS.patient,
      doctorKey: DEV_KEYS.doctorA,
      adminKey: DEV_KEYS.admin,
      // The synthetic (Synthea) patient's family name, for the doctor's search.
      family: world.patient.name?.[0]?.family,
      hospitalKey: DEV_KEYS.hospitalA,
      doctorB: world.wallets['doctor of granted hospital'].address,
    });
    return undefined;
  }
  if (!ctx.path.startsWith('/bridge/')) return next();
  const target = world.bridge.url + ctx.url.slice('/bridge'.length);
  const headers = { ...ctx.headers };
  delete headers.host;
  const hasBody = ctx.method !== 'GET' && ctx.method !== 'HEAD';
  const res = await fetch(target, { method: ctx.method, headers, ...(hasBody ? { body: ctx.req, duplex: 'half' } : {}) });
  ctx.status = res.status;
  res.headers.forEach((v, k) => {
    if (k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') ctx.set(k, v);
  });
  ctx.body = Buffer.from(await res.arrayBuffer());
  return undefined;
}

export default {
  rootDir: repoRoot,
  files: integration ? ['test/integration/**/*.test.ts'] : [process.env.EHR_WIDGETS_TESTS ?? 'src/**/*.test.ts'],
  nodeResolve: { exportConditions: ['source', 'browser'], browser: true },
  concurrency: 1,
  concurrentBrowsers: 1,
  testsFinishTimeout: 10 * 60 * 1000,
  // The integration stack takes a while to start on a shared 2-core machine.
  testsStartTimeout: 5 * 60 * 1000,
  browserStartTimeout: 120_000,
  testFramework: { config: { timeout: 60_000 } },
  middleware: [fixturesMiddleware, uploadSink, stackMiddleware],
  plugins: [stack, esbuildPlugin({ ts: true, target: 'es2022', tsconfig: join(here, 'tsconfig.json') })],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
        args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      },
    }),
  ],
};
