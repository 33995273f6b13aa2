/**
 * `npm run bench -w packages/widgets` (in Chromium): time to first render of <ehr-viewer> with
 * 10,000 vs 100 records, and in-browser verification of 1,000 records vs plain SHA-256 of the same
 * bytes. Ratios are measured side by side in one run; nothing here asserts a time.
 */
import { fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { FixtureDataSource, bundleResources, expandResources } from '../src/testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { verifyRecord } from '../src/verify/verify-record.js';
import type { RecordDetail } from '../src/data/data-source.js';
import '../test/helpers.js';
import '../src/components/ehr-viewer/ehr-viewer.js';
import type { EhrViewer } from '../src/components/ehr-viewer/ehr-viewer.component.js';

const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function firstRender(ds: FixtureDataSource): Promise<number> {
  const start = performance.now();
  const el = await fixture<EhrViewer>(
    html`<ehr-viewer .dataSource=${ds} patient-id=${ds.patientId}></ehr-viewer>`,
  );
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (el.shadowRoot!.querySelector('[part="record"]')) resolve();
      else requestAnimationFrame(check);
    };
    check();
  });
  const ms = performance.now() - start;
  el.remove();
  return ms;
}

const rows: string[] = [];

describe('widgets bench', () => {
  before(async () => {
    await setViewport({ width: 1400, height: 1000 });
  });

  it('time to first render: 10,000 vs 100 records', async () => {
    const xl = bundleResources(await loadSyntheaBundle('xlarge-stewart-stanton.json'));
    const small = await FixtureDataSource.create({ resources: expandResources(xl, 100) });
    const large = await FixtureDataSource.create({ resources: expandResources(xl, 10_000) });
    await firstRender(small); // warm-up (module code, styles)
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await firstRender(small));
      b.push(await firstRender(large));
    }
    const ma = median(a);
    const mb = median(b);
    rows.push(`| <ehr-viewer> first render, 100 records | ${ma.toFixed(1)} ms | |`);
    rows.push(
      `| <ehr-viewer> first render, 10,000 records | ${mb.toFixed(1)} ms | ${(mb / ma).toFixed(2)}× of 100 (goal ≤ 2×) |`,
    );
  });

  it('verification of 1,000 records vs plain SHA-256 of the same bytes', async () => {
    const xl = bundleResources(await loadSyntheaBundle('xlarge-stewart-stanton.json'));
    const ds = await FixtureDataSource.create({ resources: expandResources(xl, 1000) });
    const details: RecordDetail[] = [];
    for (const key of ds.keys()) details.push(await ds.getRecord(ds.patientId, key));
    const bytes = details.map((d) => new TextEncoder().encode(JSON.stringify(d.resource)));
    const anchorOf = (root: string) => ds.anchorOf(root);
    const subject = ds.expectedSubject(ds.patientId);
    // Warm-up both paths (JIT, WebAssembly keccak start).
    for (const d of details.slice(0, 50)) await verifyRecord(d, subject, anchorOf);
    for (const b of bytes.slice(0, 50)) await crypto.subtle.digest('SHA-256', b);
    const sha: number[] = [];
    const ver: number[] = [];
    let verified = 0;
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      for (const b of bytes) await crypto.subtle.digest('SHA-256', b);
      sha.push(performance.now() - t);
      t = performance.now();
      verified = 0;
      for (const d of details)
        if ((await verifyRecord(d, subject, anchorOf)).state === 'verified') verified++;
      ver.push(performance.now() - t);
    }
    const ms = median(sha);
    const mv = median(ver);
    rows.push(`| plain SHA-256 of 1,000 records' JSON bytes | ${ms.toFixed(1)} ms | |`);
    rows.push(
      `| verifyRecord of the same 1,000 (canonicalize + hash + leaf + proof + anchor lookup; ${verified} verified) | ${mv.toFixed(1)} ms | ${(mv / ms).toFixed(2)}× of plain SHA-256 |`,
    );
  });

  after(() => {
    console.log(
      [
        '',
        `Chromium, median of ${RUNS} runs`,
        '| measurement | time | ratio |',
        '|---|---:|---|',
        ...rows,
      ].join('\n'),
    );
  });
});
