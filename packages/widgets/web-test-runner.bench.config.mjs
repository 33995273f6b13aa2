// The bench (bench/*.bench.ts) in Chromium, with the same dev server setup as the tests.
import config from './web-test-runner.config.mjs';

export default { ...config, files: ['bench/**/*.bench.ts'], testFramework: { config: { timeout: 600_000 } } };
