/**
 * `npm run bench -w packages/core`: verification cost vs plain hashing for 1,000 Synthea
 * resources, in Node and in Chromium in one run — first the cold and warm rows (a fresh page's first
 * verifyRecords vs later passes) — plus batch-tree building (core vs OpenZeppelin).
 * Prints tables; asserts nothing (times on a shared machine are noisy, ratios are what matter).
 */
import { loadavg } from 'node:os';
import { benchSummary, loadSyntheaBundles } from '@ehr-anchor/testkit';
import { chromium } from 'playwright-core';
import { buildTree, leafHash } from '../src/index.js';
import type { ColdSample } from './cold-entry.js';
import { benchPage } from './page.js';
import {
  BENCH_EXPECTED,
  benchLeaves,
  DEFAULT_RUNS,
  runEnvelopeWorkload,
  runTreeWorkload,
  runWorkload,
  type Timing,
  type WorkloadOptions,
  type WorkloadResult,
} from './workload.js';

const COUNT = 1000;
const TREE_LEAVES = 10_000;
const ENVELOPES = 500;
const ENVELOPE_BYTES = 2048;
/**
 * Quick mode for iterating: `BENCH_ROUNDS=5 npm run bench -w packages/core` runs 5 rounds and skips
 * the OpenZeppelin reference rows, the batch-tree and the envelope tables (about a minute).
 */
const ROUNDS = process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : DEFAULT_RUNS;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`BENCH_ROUNDS must be a positive integer, got ${process.env.BENCH_ROUNDS}`);
const QUICK = ROUNDS < DEFAULT_RUNS;
/** BENCH_CHUNK: records per timed slice (default 100; 1000 = whole-set timing as in earlier runs). */
const CHUNK = process.env.BENCH_CHUNK ? Number(process.env.BENCH_CHUNK) : 100;
if (!Number.isInteger(CHUNK) || CHUNK < 1)
  throw new Error(`BENCH_CHUNK must be a positive integer, got ${process.env.BENCH_CHUNK}`);
const OPTIONS: WorkloadOptions = { rounds: ROUNDS, quick: QUICK, chunk: CHUNK };

function syntheaTexts(): string[] {
  const texts: string[] = [];
  for (const bundle of loadSyntheaBundles().values()) {
    for (const entry of bundle.entry ?? []) {
      if (entry.resource && texts.length < COUNT) texts.push(JSON.stringify(entry.resource));
    }
  }
  if (texts.length < COUNT) throw new Error(`only ${texts.length} resources in the fixtures`);
  return texts;
}

async function inChromium(
  texts: string[],
): Promise<{ result: WorkloadResult; tree: Timing[]; envelopes: Timing[]; version: string }> {
  type Page = typeof globalThis & {
    runWorkload: (t: string[], o: WorkloadOptions) => Promise<WorkloadResult>;
    runTreeWorkload: (n: number) => Promise<Timing[]>;
    runEnvelopeWorkload: (n: number, size: number, rounds: number) => Promise<Timing[]>;
  };
  const server = await benchPage(new URL('./browser-entry.ts', import.meta.url));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--js-flags=--expose-gc'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => 'runWorkload' in globalThis);
    const result = await page.evaluate(([t, o]) => (globalThis as Page).runWorkload(t, o), [
      texts,
      OPTIONS,
    ] as const);
    const tree = QUICK
      ? []
      : await page.evaluate((n) => (globalThis as Page).runTreeWorkload(n), TREE_LEAVES);
    const envelopes = QUICK
      ? []
      : await page.evaluate(
          ([n, size, rounds]) => (globalThis as Page).runEnvelopeWorkload(n, size, rounds),
          [ENVELOPES, ENVELOPE_BYTES, ROUNDS] as const,
        );
    return { result, tree, envelopes, version: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}

/** Each step's ms and its ratio to both baselines: plain hashing one by one (row 0) and all at once (row 1). */
function table(title: string, columns: { label: string; result: WorkloadResult }[]): string {
  const names = columns[0]!.result.timings.map((t) => t.name);
  const w = Math.max(...names.map((n) => n.length));
  const lines = [
    title,
    `| ${'step'.padEnd(w)} | ${columns.map((c) => `${c.label} ms | ${c.label} × plain | ${c.label} × all at once`).join(' | ')} |`,
  ];
  lines.push(`|${'-'.repeat(w + 2)}|${columns.map(() => '---:|---:|---:').join('|')}|`);
  for (const [i, name] of names.entries()) {
    const cells = columns.map((c) => {
      const ms = c.result.timings[i]!.ms;
      return `${ms.toFixed(1)} | ${(ms / c.result.timings[0]!.ms).toFixed(2)}× | ${(ms / c.result.timings[1]!.ms).toFixed(2)}×`;
    });
    lines.push(`| ${name.padEnd(w)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * Cold and warm: the first `verifyRecords` over the 1,000 records in a fresh page (a new browser
 * context each time: no code cache, nothing of core run before) next to the median of the next
 * passes in the same page, with plain hashing all at once as the baseline in the same loop.
 * Leaves and proofs are computed here in Node, so the page runs core for the first time when timed.
 */
async function coldInChromium(texts: string[], pages: number) {
  const resources = texts.map((t) => JSON.parse(t) as { resourceType: string; id: string });
  const leaves = await benchLeaves(resources);
  const tree = buildTree(leaves.map(leafHash));
  const input = {
    texts,
    leaves,
    proofs: leaves.map((_, i) => tree.proof(i)),
    root: tree.root,
    subject: BENCH_EXPECTED.subject,
    hospital: BENCH_EXPECTED.hospital,
    warmPasses: 8,
  };
  const server = await benchPage(new URL('./cold-entry.ts', import.meta.url));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu'],
  });
  const samples: ColdSample[] = [];
  const loadBefore = loadavg()[0]!;
  try {
    for (let i = 0; i < pages; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => 'runCold' in globalThis);
      samples.push(
        await page.evaluate(
          (inp) =>
            (globalThis as unknown as { runCold: (i: typeof inp) => Promise<ColdSample> }).runCold(inp),
          input,
        ),
      );
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  return { samples, loadBefore, loadAfter: loadavg()[0]!, version: browser.version() };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const texts = syntheaTexts();
const COLD_PAGES = process.env.BENCH_COLD_PAGES ? Number(process.env.BENCH_COLD_PAGES) : QUICK ? 7 : 15;
const cold = await coldInChromium(texts, COLD_PAGES);
{
  const col = (f: (s: ColdSample) => number) => cold.samples.map(f);
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${quantile(xs, 0.5).toFixed(1)} | ${quantile(xs, 0.9).toFixed(1)} |`;
  console.log(
    [
      `Cold and warm, Chromium ${cold.version}: ${cold.samples.length} fresh pages (a new browser context each), 1,000 records as one verifyRecords list; load average ${cold.loadBefore.toFixed(2)} → ${cold.loadAfter.toFixed(2)}`,
      '| row | median ms | p90 ms |',
      '|---|---:|---:|',
      row(
        'cold: first verifyRecords in a fresh page',
        col((s) => s.cold),
      ),
      row(
        'warm: median of the next 8 passes, same page',
        col((s) => s.warm),
      ),
      row(
        'cold ÷ warm, per page (goal ≤ 2×)',
        col((s) => s.cold / s.warm),
      ),
      row(
        'page start → verifierReady() (module load + warm-up, before the first pass)',
        col((s) => s.ready),
      ),
      row(
        'baseline: plain SHA-256 all at once, first pass',
        col((s) => s.plainCold),
      ),
      row(
        'baseline: plain SHA-256 all at once, warm',
        col((s) => s.plainWarm),
      ),
      row(
        'cold verifyRecords ÷ warm plain, per page',
        col((s) => s.cold / s.plainWarm),
      ),
      row(
        'warm verifyRecords ÷ warm plain, per page',
        col((s) => s.warm / s.plainWarm),
      ),
    ].join('\n') + '\n',
  );
  const mp = (xs: number[]) =>
    `median ${quantile(xs, 0.5).toFixed(2)}×, p90 ${quantile(xs, 0.9).toFixed(2)}×`;
  benchSummary([
    {
      area: 'verification',
      what: `Chromium verifyRecords of 1,000 records ÷ plain SHA-256 all at once, warm, ${cold.samples.length} fresh pages`,
      figure: mp(col((s) => s.warm / s.plainWarm)),
      against: 'plain hashing measured in the same loop, per page',
    },
    {
      area: 'verification',
      what: "a fresh page's first verifyRecords (cold) ÷ warm",
      figure: `${mp(col((s) => s.cold / s.warm))}; cold ${quantile(
        col((s) => s.cold),
        0.5,
      ).toFixed(1)} ms median`,
      against: 'goal ≤ 2×',
    },
  ]);
}
if (process.env.BENCH_COLD_ONLY) process.exit(0);
const node = await runWorkload(texts, OPTIONS);
const nodeTree = QUICK ? [] : await runTreeWorkload(TREE_LEAVES);
const nodeEnvelopes = QUICK ? [] : await runEnvelopeWorkload(ENVELOPES, ENVELOPE_BYTES, ROUNDS);
const browser = await inChromium(texts);

console.log(
  table(
    `Verification of ${node.resources} Synthea resources (${(node.bytes / 1024).toFixed(0)} KiB of JSON), sum over slices of ${CHUNK} records of the best of ${ROUNDS} interleaved runs${QUICK ? ' (quick mode: no OZ rows)' : ' (OZ rows: best of 3)'} — Node ${process.version} and Chromium ${browser.version}:`,
    [
      { label: 'Node', result: node },
      { label: 'Chromium', result: browser.result },
    ],
  ),
);
const ms = (r: WorkloadResult, prefix: string) => r.timings.find((t) => t.name.startsWith(prefix))!.ms;
const oneByOne = (r: WorkloadResult) =>
  (ms(r, 'verifyRecord (') / ms(r, 'plain SHA-256 of raw JSON bytes (')).toFixed(2);
const asList = (r: WorkloadResult) =>
  (ms(r, 'verifyRecords') / ms(r, 'plain SHA-256 of raw JSON bytes, all')).toFixed(2);
console.log(`\nkeccak on WebAssembly: Node ${node.wasm}, Chromium ${browser.result.wasm}`);
console.log(
  `verifyRecord one by one ÷ plain hashing one by one: Node ${oneByOne(node)}×, Chromium ${oneByOne(browser.result)}× (goal ≤ 5×)`,
);
console.log(
  `verifyRecords as a list ÷ plain hashing all at once: Node ${asList(node)}×, Chromium ${asList(browser.result)}× (goal ≤ 5×)`,
);
if (QUICK) process.exit(0);
console.log(`\nBatch tree (bridge side), one run each:\n| step | Node ms | Chromium ms |\n|---|---:|---:|`);
for (const [i, t] of nodeTree.entries())
  console.log(`| ${t.name} | ${t.ms.toFixed(1)} | ${browser.tree[i]!.ms.toFixed(1)} |`);
console.log(
  `\nEnvelopes of ${ENVELOPE_BYTES} bytes, ${ENVELOPES} concurrent operations, best of ${ROUNDS}:\n| step | Node ms | Node ops/s | Chromium ms | Chromium ops/s |\n|---|---:|---:|---:|---:|`,
);
for (const [i, t] of nodeEnvelopes.entries()) {
  const b = browser.envelopes[i]!;
  console.log(
    `| ${t.name} | ${t.ms.toFixed(1)} | ${Math.round((ENVELOPES * 1000) / t.ms)} | ${b.ms.toFixed(1)} | ${Math.round((ENVELOPES * 1000) / b.ms)} |`,
  );
}
