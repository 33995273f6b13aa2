// Temporary: alternating fresh pages, before (main's verifier, no warm-up) and after (this branch).
import { loadavg } from 'node:os';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import { chromium } from 'playwright-core';
import { buildTree, leafHash } from '../src/index.js';
import { benchPage } from '../bench/page.js';
import { BENCH_EXPECTED, benchLeaves } from '../bench/workload.js';
const texts: string[] = [];
for (const b of loadSyntheaBundles().values()) for (const e of b.entry ?? []) if (e.resource && texts.length < 1000) texts.push(JSON.stringify(e.resource));
const leaves = await benchLeaves(texts.map((t) => JSON.parse(t)));
const tree = buildTree(leaves.map(leafHash));
const input = { texts, leaves, proofs: leaves.map((_, i) => tree.proof(i)), root: tree.root, subject: BENCH_EXPECTED.subject, hospital: BENCH_EXPECTED.hospital, warmPasses: 8 };
const pages = { before: await benchPage(new URL('./cold-entry.ts', import.meta.url)), after: await benchPage(new URL('../bench/cold-entry.ts', import.meta.url)) };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu'] });
const out: Record<string, any[]> = { before: [], after: [] };
const l0 = loadavg()[0]!;
const N = Number(process.env.N ?? 12);
for (let i = 0; i < N; i++) for (const k of (i % 2 ? ['after', 'before'] : ['before', 'after']) as ('before' | 'after')[]) {
  const ctx = await browser.newContext(); const page = await ctx.newPage();
  await page.goto(pages[k].url); await page.waitForFunction(() => 'runCold' in globalThis);
  out[k].push(await page.evaluate((inp) => (globalThis as any).runCold(inp), input)); await ctx.close();
}
await browser.close(); pages.before.close(); pages.after.close();
const q = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };
console.log(`load ${l0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}, ${N} pages each, alternating, Chromium ${browser.version()}`);
console.log('| | cold med | cold p90 | warm med | warm p90 | cold÷warm med | cold÷warm p90 | ready med | plain warm med |');
for (const k of ['before', 'after']) { const s = out[k]!; const f = (g: (x: any) => number, p: number) => q(s.map(g), p).toFixed(1);
  console.log(`| ${k} | ${f((x) => x.cold, .5)} | ${f((x) => x.cold, .9)} | ${f((x) => x.warm, .5)} | ${f((x) => x.warm, .9)} | ${f((x) => x.cold / x.warm, .5)} | ${f((x) => x.cold / x.warm, .9)} | ${f((x) => x.ready, .5)} | ${f((x) => x.plainWarm, .5)} |`); }
