/**
 * `npm run bench`: every area's benchmark in a bounded time (each with small, fixed sizes; the
 * whole run stays under 15 minutes on the 2-core machine), then one Markdown table of their headline
 * figures — with the date, the commit and the load average of each — written between the markers
 * of docs/benchmarks.md's "Current figures" section. Each bench prints its full tables and method on
 * the way; the summary rows come from `benchSummary` (@ehr-anchor/testkit) through EHR_BENCH_SUMMARY.
 *
 * `npm run bench -- gas ingest`: only those areas (the table then keeps the others' last rows out).
 * EHR_BENCH_NO_WRITE=1 prints the table without touching docs/benchmarks.md.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAverage, table, type BenchSummaryRow } from '@ehr-anchor/testkit';

const root = join(import.meta.dirname, '..');

interface Area {
  name: string;
  workspace: string;
  script: string;
  env: Record<string, string>;
  /** Upper bound of its run (seconds): it is stopped after that. */
  limitSec: number;
}

const AREAS: Area[] = [
  { name: 'gas', workspace: 'packages/contracts', script: 'bench', env: {}, limitSec: 120 },
  {
    name: 'verification',
    workspace: 'packages/core',
    script: 'bench',
    env: { BENCH_COLD_ONLY: '1', BENCH_COLD_PAGES: '9' },
    limitSec: 180,
  },
  {
    name: 'ingest',
    workspace: 'packages/fhir-bridge',
    script: 'bench',
    env: { EHR_BENCH_N: '4000', EHR_BENCH_WARMUP: '400' },
    limitSec: 180,
  },
  {
    name: 'latency',
    workspace: 'packages/fhir-bridge',
    script: 'bench:latency',
    env: { EHR_BENCH_SECONDS: '10' },
    limitSec: 300,
  },
  {
    name: 'read side',
    workspace: 'packages/fhir-bridge',
    script: 'bench:read',
    env: { EHR_BENCH_READ_SECONDS: '5', EHR_BENCH_READ_LEVELS: '1,4,16,64' },
    limitSec: 180,
  },
  {
    name: 'scale-out',
    workspace: 'packages/fhir-bridge',
    script: 'bench:scale',
    env: { EHR_BENCH_N: '6000', EHR_BENCH_WARMUP: '600' },
    limitSec: 240,
  },
];

const only = process.argv.slice(2);
const chosen = only.length ? AREAS.filter((a) => only.some((o) => a.name.startsWith(o))) : AREAS;
const dir = mkdtempSync(join(tmpdir(), 'ehr-bench-'));
const summaryFile = join(dir, 'summary.jsonl');
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
  cwd: root,
  encoding: 'utf8',
}).trim()
  ? '+changes'
  : '';
const started = Date.now();
const failed: string[] = [];
console.log(`npm run bench: ${chosen.map((a) => a.name).join(', ')}; load ${loadAverage()}`);
try {
  for (const area of chosen) {
    console.log(`\n━━ ${area.name} (${area.workspace}, npm run ${area.script}) ━━`);
    const t0 = Date.now();
    const result = spawnSync('npm', ['run', area.script, '-w', area.workspace], {
      cwd: root,
      stdio: 'inherit',
      timeout: area.limitSec * 1000,
      killSignal: 'SIGTERM',
      env: { ...process.env, ...area.env, EHR_BENCH_SUMMARY: summaryFile },
    });
    const secs = Math.round((Date.now() - t0) / 1000);
    if (result.status !== 0)
      failed.push(`${area.name} (${result.signal ?? `exit ${result.status}`} after ${secs} s)`);
    console.log(`━━ ${area.name}: ${secs} s ━━`);
  }
  const rows = existsSync(summaryFile)
    ? readFileSync(summaryFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as BenchSummaryRow & { load: string })
    : [];
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const markdown = [
    `Written by \`npm run bench\` on ${date} UTC at ${commit}${dirty}, ${Math.round((Date.now() - started) / 60_000)} min, ` +
      `on the shared 2-core machine (load average 1 / 5 / 15 min with each row).${failed.length ? ` Did not finish: ${failed.join(', ')}.` : ''}`,
    '',
    table(
      ['area', 'what', 'figure', 'against', 'load'],
      rows.map((r) => [r.area, r.what, r.figure, r.against ?? '', r.load]),
    ),
  ].join('\n');
  console.log(`\n${markdown}`);
  if (!process.env.EHR_BENCH_NO_WRITE) {
    const file = join(root, 'docs', 'benchmarks.md');
    const text = readFileSync(file, 'utf8');
    const start = '<!-- npm run bench: start -->';
    const end = '<!-- npm run bench: end -->';
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`docs/benchmarks.md lacks the ${start} … ${end} markers`);
    writeFileSync(file, `${text.slice(0, a + start.length)}\n\n${markdown}\n\n${text.slice(b)}`);
    console.log('\nwritten to docs/benchmarks.md');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed.length) process.exitCode = 1;
