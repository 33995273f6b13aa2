// `npm run bench -w packages/widgets`: the Chromium bench (render and verification ratios), then
// the build and the gzip size table against the budgets.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: pkg, stdio: 'inherit' }).status ?? 1;

const wtr = run(process.execPath, [
  '--conditions=source',
  '--import',
  'tsx',
  '../../node_modules/@web/test-runner/dist/bin.js',
  '--config',
  'web-test-runner.bench.config.mjs',
]);
const build = run('npx', ['rollup', '-c', '../../rollup.config.mjs', '--silent']);
console.log('\nGzip sizes (level 9) against the budgets of issue 8:');
const size = build === 0 ? run(process.execPath, ['scripts/size-check.mjs']) : 1;
process.exit(wtr || build || size ? 1 : 0);
