// @web/test-runner for core's browser tests: the test vectors in real Chromium (Debian's build).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { defaultReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';

/**
 * Each browser test file is served as one esbuild bundle (platform browser), the way an app
 * bundles core: esbuild picks the packages' browser builds (multiformats' sha2-browser), converts
 * the one CommonJS dependency of ipfs-unixfs-importer (sparse-array), and leaves @hpke/common's
 * Node <= 18 fallback `import("crypto")` alone — it never runs where WebCrypto exists.
 */
const bundleTests = {
  name: 'bundle-browser-tests',
  async serve(context) {
    if (!context.path.endsWith('.browser.ts')) return undefined;
    const entry = fileURLToPath(new URL(`.${context.path}`, import.meta.url));
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      external: ['crypto'],
      write: false,
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    return { body: result.outputFiles[0].text, type: 'js' };
  },
};

/** Ends the output with one plain `N passed, N failed, N skipped` line for the root test runner. */
const countsReporter = {
  onTestRunFinished({ sessions }) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const walk = (suite) => {
      for (const test of suite?.tests ?? []) {
        if (test.skipped) counts.skipped++;
        else if (test.passed) counts.passed++;
        else counts.failed++;
      }
      for (const child of suite?.suites ?? []) walk(child);
    };
    for (const session of sessions) {
      walk(session.testResults);
      // A file that failed to load has no results: count it as a failure.
      if (!session.passed && (session.errors?.length ?? 0) > 0) counts.failed++;
    }
    // Printed after the default reporter's own summary (which it writes on process exit).
    process.on('exit', () =>
      console.log(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`),
    );
  },
};

export default {
  files: ['test/browser/**/*.browser.ts'],
  plugins: [bundleTests],
  reporters: [defaultReporter(), countsReporter],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--headless', '--disable-gpu'],
      },
    }),
  ],
  concurrency: 1,
  // The machine is shared and slow; the 3 MiB CID vector takes a while in the browser.
  browserStartTimeout: 120_000,
  testsFinishTimeout: 300_000,
  testFramework: { config: { timeout: 120_000 } },
};
