#!/usr/bin/env node
// `ehr-bridge` launcher: the built CLI when dist/ exists, else the TypeScript sources through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(fileURLToPath(dist)) && !process.env.EHR_BRIDGE_FROM_SOURCE) {
  const { main } = await import(dist.href);
  await main(process.argv.slice(2));
} else {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const result = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', cli, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
