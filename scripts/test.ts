/**
 * `npm test`: type-check, lint, formatting check, then every workspace's test scripts (`test` and any `test:*`),
 * one after another, streaming their output. Ends with one summary line that CI reads:
 * `N passed, N failed`.
 *
 *   npm test                    everything
 *   npm test -- core bridge     only workspaces whose folder name contains one of the words
 *   npm test -- --no-static     skip type-check, lint and the formatting check
 *
 * Each step runs in its own process group and is stopped (and counted as failed) after
 * EHR_TEST_STEP_TIMEOUT_MIN minutes (default 30), so one hung suite cannot use up CI's 90 minutes.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@ehr-anchor/testkit';

interface Step {
  name: string;
  command: string;
  args: string[];
  cwd: string;
}

interface Result {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
  seconds: number;
}

const argv = process.argv.slice(2);
const stepTimeoutMs = Number(process.env.EHR_TEST_STEP_TIMEOUT_MIN ?? 30) * 60_000;
const filters = argv.filter((a) => !a.startsWith('--'));
const runStatic = !argv.includes('--no-static') && filters.length === 0;

const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
const steps: Step[] = [];
if (runStatic) {
  steps.push({ name: 'typecheck', command: 'npx', args: ['tsc', '-b'], cwd: repoRoot });
  steps.push({ name: 'lint', command: 'npx', args: ['eslint', '.'], cwd: repoRoot });
  steps.push({ name: 'format', command: 'npx', args: ['prettier', '--check', '.'], cwd: repoRoot });
}
for (const ws of root.workspaces) {
  if (filters.length > 0 && !filters.some((f) => ws.includes(f))) continue;
  const pkg = JSON.parse(readFileSync(join(repoRoot, ws, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  for (const script of Object.keys(pkg.scripts ?? {})) {
    if (script === 'test' || script.startsWith('test:')) {
      steps.push({ name: `${ws} ${script}`, command: 'npm', args: ['run', script], cwd: join(repoRoot, ws) });
    }
  }
}

/** Counts from node:test (`ℹ pass N`), @web/test-runner / mocha (`N passed, N failed`). */
function counts(output: string): { passed: number; failed: number; skipped: number } | undefined {
  // eslint-disable-next-line no-control-regex
  const text = output.replace(/\u001b\[[0-9;]*m/g, '');
  const node = { passed: 0, failed: 0, skipped: 0, found: false };
  for (const m of text.matchAll(/^[ℹ#] (pass|fail|skipped|todo) (\d+)$/gm)) {
    node.found = true;
    if (m[1] === 'pass') node.passed += Number(m[2]);
    else if (m[1] === 'fail') node.failed += Number(m[2]);
    else node.skipped += Number(m[2]);
  }
  if (node.found) return node;
  const generic = [...text.matchAll(/(\d+) passed, (\d+) failed(?:, (\d+) skipped)?/g)].at(-1);
  if (generic)
    return { passed: Number(generic[1]), failed: Number(generic[2]), skipped: Number(generic[3] ?? 0) };
  return undefined;
}

function runStep(step: Step): Promise<Result> {
  const started = Date.now();
  console.log(`\n━━ ${step.name} ━━`);
  return new Promise((resolve) => {
    const child = spawn(step.command, step.args, {
      cwd: step.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\n✖ ${step.name}: no result after ${stepTimeoutMs / 60_000} min — stopping it`);
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 15_000).unref();
    }, stepTimeoutMs);
    // Ctrl-C on `npm test` reaches this process only (the steps run in their own groups): pass it on.
    const forward = () => {
      interrupted = true;
      killGroup('SIGTERM');
    };
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        (stream === child.stdout ? process.stdout : process.stderr).write(chunk);
      });
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      const seconds = (Date.now() - started) / 1000;
      const found = counts(output);
      const ok = code === 0 && !timedOut;
      // A static step, or a runner that prints no counts, counts as one check.
      const passed = found ? found.passed : ok ? 1 : 0;
      const failed = found ? Math.max(found.failed, ok ? 0 : 1) : ok ? 0 : 1;
      resolve({ name: step.name, passed, failed, skipped: found?.skipped ?? 0, ok, seconds });
    });
  });
}

let interrupted = false;
const results: Result[] = [];
for (const step of steps) {
  results.push(await runStep(step));
  if (interrupted) break;
}

console.log('\n━━ summary ━━');
for (const r of results) {
  console.log(
    `${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(40)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed ${String(r.skipped).padStart(4)} skipped ${r.seconds.toFixed(1).padStart(7)} s`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(results.every((r) => r.ok) && results.length > 0 ? 0 : 1);
