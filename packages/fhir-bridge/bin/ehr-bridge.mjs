#!/usr/bin/env node
// `ehr-bridge` launcher: the built CLI when dist/ exists, else the TypeScript sources through tsx in
// a child process. A supervisor signals this PID only: SIGINT, SIGTERM and SIGHUP are passed on to
// the child, and the launcher ends the way the child ended (its exit code, or the same signal).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(fileURLToPath(dist)) && !process.env.EHR_BRIDGE_FROM_SOURCE) {
  const { main } = await import(dist.href);
  await main(process.argv.slice(2));
} else {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', cli, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  child.once('error', (error) => {
    console.error(`ehr-bridge: could not start ${process.execPath}: ${error.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
