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

export default {
  rootDir: repoRoot,
  files: integration ? ['test/integration/**/*.test.ts'] : [process.env.EHR_WIDGETS_TESTS ?? 'src/**/*.test.ts'],
  nodeResolve: { exportConditions: ['source', 'browser'], browser: true },
  concurrency: 1,
  concurrentBrowsers: 1,
  testsFinishTimeout: 10 * 60 * 1000,
  browserStartTimeout: 120_000,
  testFramework: { config: { timeout: 60_000 } },
  middleware: [fixturesMiddleware, uploadSink],
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: join(here, 'tsconfig.json') })],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
        args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      },
    }),
  ],
};
