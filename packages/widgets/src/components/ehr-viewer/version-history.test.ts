import { expect, fixture, html } from '@open-wc/testing';
import type { Bundle, Condition } from 'fhir/r4';
import { FixtureDataSource } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { until } from '../../../test/helpers.js';
import { FixtureEntries } from '../clinical-entry/clinical-entry.fixture.js';
import {
  buildEntryBundle,
  emptyCondition,
  emptyDraft,
  type EntryDraft,
} from '../clinical-entry/clinical-entry.model.js';
import './version-history.js';
import type { EhrVersionHistory } from './version-history.js';

let bundle: Bundle;
before(async () => {
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

/** A Condition written, anchored, amended (resolved) and anchored again: two versions in two batches. */
async function amendedCondition(): Promise<{
  entries: FixtureEntries;
  ds: FixtureDataSource;
  v1: string;
  v2: string;
}> {
  const ds = await FixtureDataSource.create({ bundle });
  const entries = new FixtureEntries(ds, ds.patientId);
  const draft: EntryDraft = {
    ...emptyDraft('2026-11-20'),
    conditions: [{ ...emptyCondition(), text: 'Asthma', onset: '2020-01-01' }],
    assessment: 'Stable.',
  };
  const first = buildEntryBundle(draft, ds.patientId);
  const created = await entries.submitEntry(ds.patientId, first.bundle);
  await entries.anchorPending();
  const refs = created.map((item, i) => ({
    part: first.parts[i]!,
    resourceType: item.resourceType,
    resourceId: item.resourceId,
    versionId: item.versionId,
    key: item.key,
  }));
  draft.conditions[0]!.status = 'resolved';
  const amended = await entries.submitEntry(ds.patientId, buildEntryBundle(draft, ds.patientId, refs).bundle);
  await entries.anchorPending();
  const v1 = created.find((i) => i.resourceType === 'Condition')!.key;
  const v2 = amended.find((i) => i.resourceType === 'Condition')!.key;
  return { entries, ds, v1, v2 };
}

async function history(entries: FixtureEntries, patientId: string, key: string): Promise<EhrVersionHistory> {
  return fixture<EhrVersionHistory>(
    html`<ehr-version-history .dataSource=${entries.source} patient-id=${patientId} record-key=${key}></ehr-version-history>`,
  );
}

const states = (el: EhrVersionHistory) =>
  [...el.shadowRoot!.querySelectorAll('[part="version"]')].map((v) => [
    v.getAttribute('data-version'),
    v.querySelector('[part="badge"]')!.getAttribute('data-state'),
  ]);

describe('<ehr-version-history>', () => {
  it('lists every version newest first, each verified on its own, with what changed', async () => {
    const { entries, ds, v1 } = await amendedCondition();
    const el = await history(entries, ds.patientId, v1);
    await until(
      () => el.shadowRoot!.querySelectorAll('[data-state="verified"]').length === 2,
      'two verified versions',
    );
    expect(states(el)).to.deep.equal([
      ['2', 'verified'],
      ['1', 'verified'],
    ]);
    const roots = [...el.shadowRoot!.querySelectorAll('[part="version"]')].map(
      (v) => /0x[0-9a-f]{64}/.exec(v.textContent!)?.[0],
    );
    expect(roots[0]).to.not.equal(roots[1], 'the versions were anchored in different batches');
    expect(el.shadowRoot!.querySelector('ins')!.textContent).to.equal('resolved');
    // The list counts down from the number of versions (its markers read 2., 1. beside "Version 2", "Version 1").
    const list = el.shadowRoot!.querySelector('ol')!;
    expect([list.reversed, list.start]).to.deep.equal([true, 2]);
    await expect(el).to.be.accessible();
  });

  it('marks exactly the version whose content was changed after anchoring as tampered', async () => {
    const { entries, ds, v1, v2 } = await amendedCondition();
    entries.tamper(v1, (r) => ((r as Condition).code = { text: 'Something else' }));
    const el = await history(entries, ds.patientId, v2);
    await until(
      () =>
        el.shadowRoot!.querySelectorAll('[part="version"]').length === 2 &&
        !el.shadowRoot!.querySelector('[data-state="checking"]'),
      'versions',
    );
    expect(states(el)).to.deep.equal([
      ['2', 'verified'],
      ['1', 'tampered'],
    ]);
    await expect(el).to.be.accessible();
  });

  it('renders nothing for a data source without versions', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await fixture<EhrVersionHistory>(
      html`<ehr-version-history .dataSource=${ds} patient-id=${ds.patientId} record-key=${ds.keys()[0]!}></ehr-version-history>`,
    );
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part="version"]')).to.equal(null);
    await expect(el).to.be.accessible();
  });
});
