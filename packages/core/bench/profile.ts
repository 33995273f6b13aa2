/**
 * `npm run bench:profile -w packages/core`: where verifyRecord spends its time in Chromium (PROFILE_LIST=100: verifyRecords over slices of 100). Runs the
 * bench's verifyRecord loop over 1,000 Synthea resources under the DevTools sampling profiler and
 * prints the functions with the most self time (WebAssembly modules show as wasm-function[i]).
 * The percentages are what to look at; the profiler itself slows the run down.
 */
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import { chromium } from 'playwright-core';
import { benchPage } from './page.js';

const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 20);
/** PROFILE_LIST=100: profile verifyRecords over slices of 100 records (the bench's list row) instead of verifyRecord one by one. */
const LIST = Number(process.env.PROFILE_LIST ?? 0);
type Page = typeof globalThis & {
  prepare(texts: string[]): Promise<void>;
  run(rounds: number, list: number): Promise<number>;
};

const texts: string[] = [];
for (const bundle of loadSyntheaBundles().values()) {
  for (const entry of bundle.entry ?? [])
    if (entry.resource && texts.length < 1000) texts.push(JSON.stringify(entry.resource));
}
const server = await benchPage(new URL('./profile-entry.ts', import.meta.url));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'prepare' in globalThis);
  await page.evaluate((t) => (globalThis as Page).prepare(t), texts);
  await page.evaluate((list) => (globalThis as Page).run(5, list), LIST); // warm-up: tier-up of JS and WebAssembly
  const plain = await page.evaluate(([rounds, list]) => (globalThis as Page).run(rounds, list), [
    ROUNDS,
    LIST,
  ] as const);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  const profiled = await page.evaluate(([rounds, list]) => (globalThis as Page).run(rounds, list), [
    ROUNDS,
    LIST,
  ] as const);
  const { profile } = await cdp.send('Profiler.stop');
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  for (const id of profile.samples ?? []) {
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples?.length ?? 1;
  console.log(
    `${LIST > 0 ? `verifyRecords over slices of ${LIST}` : 'verifyRecord one by one'} over 1,000 records: ${plain.toFixed(1)} ms per pass (${profiled.toFixed(1)} ms under the profiler), ${ROUNDS} passes sampled`,
  );
  console.log('| self % | function |\n|---:|---|');
  for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`| ${((100 * count) / total).toFixed(1)} | ${key} |`);
} finally {
  await browser.close();
  server.close();
}
