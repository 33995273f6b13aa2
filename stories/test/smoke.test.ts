/**
 * Smoke test of the built Storybook: every story is opened in Chromium and must render (its play
 * function, which waits for the state the story claims, must pass), log no console error and have
 * no axe-core accessibility violation. Docs pages must render without console errors.
 *
 * Builds Storybook first unless storybook-static is newer than every source it is built from.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveStatic, type StaticServer } from './static-server.js';

const storiesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(storiesDir, '..');
const outDir = join(storiesDir, 'storybook-static');
const indexFile = join(outDir, 'index.json');

/** Newest mtime of what the static build is made from. */
function newestSource(): number {
  const sets: Array<[string, string]> = [
    [storiesDir, '{.storybook/*,*/*.stories.ts,support/*.ts,scripts/*.mjs,package.json}'],
    [join(repoRoot, 'packages', 'widgets'), '{src/**/*.ts,package.json}'],
    [join(repoRoot, 'packages', 'core'), '{src/**/*.ts,package.json}'],
  ];
  let newest = 0;
  for (const [cwd, pattern] of sets)
    for (const f of globSync(pattern, { cwd })) newest = Math.max(newest, statSync(join(cwd, f)).mtimeMs);
  return newest;
}

if (
  !existsSync(indexFile) ||
  statSync(indexFile).mtimeMs < newestSource() ||
  process.env.EHR_STORYBOOK_REBUILD === '1'
) {
  console.log('# building Storybook (storybook-static is missing or older than its sources)');
  execFileSync('npm', ['run', 'build-storybook'], {
    cwd: storiesDir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

interface IndexEntry {
  id: string;
  title: string;
  name: string;
  type: 'story' | 'docs';
}
/** EHR_STORY_FILTER=consent-manager opens only the stories whose id contains it (while working on them). */
const filter = process.env.EHR_STORY_FILTER ?? '';
const entries = Object.values(
  (JSON.parse(readFileSync(indexFile, 'utf8')) as { entries: Record<string, IndexEntry> }).entries,
).filter((e) => e.id.includes(filter));
const stories = entries.filter((e) => e.type === 'story');
const docs = entries.filter((e) => e.type === 'docs');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Records the preview channel's story lifecycle events from the moment the channel exists. A string,
 * not a function: tsx compiles functions with name helpers that do not exist in the page.
 */
const RECORD_CHANNEL = `
  window.__smoke = { events: [] };
  let channel;
  Object.defineProperty(window, '__STORYBOOK_ADDONS_CHANNEL__', {
    configurable: true,
    get: () => channel,
    set(value) {
      channel = value;
      for (const event of ['storyRendered', 'docsRendered', 'storyErrored', 'storyThrewException', 'playFunctionThrewException', 'storyMissing']) {
        value.on(event, (arg) => {
          const detail = arg instanceof Error ? arg.name + ': ' + arg.message : typeof arg === 'object' ? JSON.stringify(arg) : String(arg);
          window.__smoke.events.push([event, detail]);
        });
      }
    },
  });
`;

/** Runs axe-core (injected from the npm package) on the story's root; resolves to readable violations. */
const RUN_AXE = `
  // \`region\` is a page-level rule (content outside landmarks); an element shown alone has no page.
  axe.run({ include: ['#storybook-root'] }, { resultTypes: ['violations'], rules: { region: { enabled: false } } })
    .then((r) => r.violations.map((v) => v.id + ': ' + v.help + ' ' + v.nodes.map((n) => JSON.stringify(n.target) + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join('; ')))
`;

/**
 * Tall enough that a whole element is on screen: the viewer's timeline is virtualized and renders
 * no rows while it is below the fold (axe then sees a scrollable region without focusable content).
 */
const VIEWPORT = { width: 1280, height: 1600 };

let server: StaticServer;
let browser: Browser;

before(async () => {
  server = await serveStatic(outDir);
  browser = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens one preview URL, waits for Storybook to say it finished, and returns what went wrong. */
async function open(
  page: Page,
  url: string,
  done: string,
): Promise<{ errors: string[]; events: Array<[string, string]> }> {
  const errors: string[] = [];
  page.on('console', (m) => {
    // Chromium asks every page for /favicon.ico, which a static Storybook build does not have.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico'))
      errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.addInitScript(RECORD_CHANNEL);
  await page.goto(url);
  const events = (await page
    .waitForFunction(
      `(() => {
        const ev = (window.__smoke && window.__smoke.events) || [];
        return ev.some(([e]) => e === ${JSON.stringify(done)} || (e !== 'storyRendered' && e !== 'docsRendered')) ? ev : false;
      })()`,
      undefined,
      { timeout: 90_000, polling: 100 },
    )
    .then((h) => h.jsonValue())) as Array<[string, string]>;
  return { errors, events };
}

/** Stories open side by side in separate tabs (each its own page, so errors stay attributed). */
const CONCURRENCY = Number(process.env.EHR_STORY_CONCURRENCY ?? 3);

describe(
  'every story renders its state, without console errors or accessibility violations',
  { concurrency: CONCURRENCY },
  () => {
    for (const story of stories) {
      it(`${story.title} › ${story.name}`, { timeout: 120_000 }, async () => {
        const page = await browser.newPage({ viewport: VIEWPORT });
        try {
          // The a11y addon's own automatic run is switched off: this test runs axe itself, once.
          const { errors, events } = await open(
            page,
            `${server.url}iframe.html?id=${story.id}&viewMode=story&globals=a11y.manual:!true`,
            'storyRendered',
          );
          const failures = events.filter(([e]) => e !== 'storyRendered');
          assert.deepEqual(failures, [], `the story failed to render or its play function threw`);
          await page.addScriptTag({ content: axeSource });
          const violations = (await page.evaluate(RUN_AXE)) as string[];
          assert.deepEqual(violations, [], 'axe-core found accessibility violations');
          assert.deepEqual(errors, [], 'the story logged console errors');
        } finally {
          await page.close();
        }
      });
    }
  },
);

describe('every docs page renders without console errors', { concurrency: CONCURRENCY }, () => {
  for (const entry of docs) {
    it(`${entry.title} › ${entry.name}`, { timeout: 120_000 }, async () => {
      const page = await browser.newPage({ viewport: VIEWPORT });
      try {
        const { errors, events } = await open(
          page,
          `${server.url}iframe.html?id=${entry.id}&viewMode=docs&globals=a11y.manual:!true`,
          'docsRendered',
        );
        const failures = events.filter(([e]) => e !== 'docsRendered' && e !== 'storyRendered');
        assert.deepEqual(failures, [], 'the docs page failed to render');
        assert.deepEqual(errors, [], 'the docs page logged console errors');
      } finally {
        await page.close();
      }
    });
  }
});
