import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import { FixtureDataSource } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { shadowQuery, until } from '../../../test/helpers.js';
import './ehr-viewer.js';
import type { EhrViewer } from './ehr-viewer.component.js';
import { brokenWords, horizontalOverflow } from '@ehr-anchor/testkit/layout';

let tiny: Bundle;
before(async () => {
  tiny = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

async function viewerAt(width: number): Promise<EhrViewer> {
  await setViewport({ width, height: 1200 });
  const ds = await FixtureDataSource.create({ bundle: tiny });
  const el = await fixture<EhrViewer>(
    html`<ehr-viewer .dataSource=${ds} patient-id=${ds.patientId} mode="patient"></ehr-viewer>`,
  );
  // The virtualizer renders the rows that are on screen: bring the list into view.
  (await shadowQuery(el, '[part="record-list"]', 'the list')).scrollIntoView();
  await shadowQuery(el, '[part="record"]', 'rows');
  return el;
}

function box(el: EhrViewer, selector: string): DOMRect {
  return el.shadowRoot!.querySelector(selector)!.getBoundingClientRect();
}

describe('<ehr-viewer> layout', () => {
  after(() => setViewport({ width: 1400, height: 2400 }));

  it('lists each group newest first by clinical date', async () => {
    const el = await viewerAt(1280);
    // Show one group (short: every row rendered) and read its dates in order.
    const label = [...el.shadowRoot!.querySelectorAll('[part="filters"] label')].find((l) =>
      l.textContent!.includes('Encounters'),
    )!;
    label.querySelector('input')!.click();
    await until(
      () =>
        [...el.shadowRoot!.querySelectorAll('[part="record"] .when')].every((w) => w.textContent!.trim()) &&
        el.shadowRoot!.querySelectorAll('[part="record"]').length === 3,
      'the three encounters with their dates',
    );
    const dates = [...el.shadowRoot!.querySelectorAll('[part="record"] .when')].map((w) =>
      Date.parse(w.textContent!),
    );
    expect(dates.length).to.equal(3);
    expect(
      [...dates].sort((a, b) => b - a),
      'newest first',
    ).to.deep.equal(dates);
  });

  it('shows exactly the filtered rows after a filter change, none overlapping (a virtualized list, then a short one, then a long one)', async () => {
    const el = await viewerAt(1280);
    const records = () => [...el.shadowRoot!.querySelectorAll<HTMLElement>('[part="record"]')];
    await until(
      () => !el.shadowRoot!.querySelector('[part="badge"][data-state="checking"]'),
      'every verdict on screen',
    );
    const check = async (category: string) => {
      const label = [...el.shadowRoot!.querySelectorAll('[part="filters"] label')].find((l) =>
        l.textContent!.includes(category),
      )!;
      label.querySelector('input')!.click();
      await el.updateComplete;
    };
    await check('Immunizations');
    await until(
      () => el.shadowRoot!.querySelector('.count')?.textContent?.includes('4 records'),
      'the count',
    );
    await until(() => records().length === 4, 'exactly the four immunizations listed');
    expect(el.shadowRoot!.querySelectorAll('.group h4').length, 'one group').to.equal(1);
    // Back to everything: rows stacked one below the other, none on top of another.
    await check('Immunizations');
    await until(() => records().length > 10, 'the long list again');
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const boxes = records().map((r) => r.getBoundingClientRect());
    for (let i = 1; i < boxes.length; i++)
      expect(boxes[i]!.top, `row ${i} below row ${i - 1}`).to.be.at.least(boxes[i - 1]!.bottom - 1);
  });

  it('puts the timeline and the open record side by side at 1280 px, one above the other at 390 px', async () => {
    const wide = await viewerAt(1280);
    const [t, d] = [box(wide, '.timeline'), box(wide, '[part="detail"]')];
    expect(d.left, 'detail to the right of the timeline').to.be.greaterThan(t.right - 1);
    expect(Math.abs(d.top - t.top), 'same row').to.be.lessThan(2);
    expect(t.width, 'the list is wider than the old 440 px box').to.be.greaterThan(440);

    const narrow = await viewerAt(390);
    const [nt, nd] = [box(narrow, '.timeline'), box(narrow, '[part="detail"]')];
    expect(nd.top, 'detail below the timeline').to.be.greaterThan(nt.bottom - 1);
  });

  for (const width of [1280, 390]) {
    it(`overflows nothing horizontally and breaks no word in headers and buttons at ${width} px`, async () => {
      const el = await viewerAt(width);
      (await shadowQuery<HTMLButtonElement>(el, '[part="record"]')).click();
      await shadowQuery(el, '[part="detail"] [role="tablist"]', 'detail');
      expect(horizontalOverflow(el), 'elements wider than their box').to.deep.equal([]);
      expect(brokenWords(el), 'headers and buttons broken inside a word').to.deep.equal([]);
    });
  }
});
