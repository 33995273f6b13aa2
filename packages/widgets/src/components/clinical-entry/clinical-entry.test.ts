import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { ContextProvider } from '@lit/context';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle, Condition, MedicationRequest, Observation } from 'fhir/r4';
import { FixtureDataSource } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { until } from '../../../test/helpers.js';
import './clinical-entry.js';
import type { ClinicalEntry, EhrEntrySubmittedEvent } from './clinical-entry.component.js';
import { FixtureEntries } from './clinical-entry.fixture.js';
import { EntryRefusedError, HttpEntrySource, entrySourceFor } from './clinical-entry.source.js';
import type { EhrVersionHistory } from '../ehr-viewer/version-history.js';
import { ehrSessionContext, type EhrSession } from '../../context/session.js';

let bundle: Bundle;
before(async () => {
  await setViewport({ width: 1400, height: 2400 });
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});
beforeEach(() => sessionStorage.clear());

async function world(): Promise<{ ds: FixtureDataSource; entries: FixtureEntries }> {
  const ds = await FixtureDataSource.create({ bundle });
  return { ds, entries: new FixtureEntries(ds, ds.patientId) };
}

async function entryForm(entries: FixtureEntries, patientId: string): Promise<ClinicalEntry> {
  const el = await fixture<ClinicalEntry>(
    html`<clinical-entry .dataSource=${entries.source} patient-id=${patientId} poll-interval="20"></clinical-entry>`,
  );
  await until(() => el.shadowRoot!.querySelector('form'), 'the form');
  return el;
}

const q = <T extends HTMLElement = HTMLInputElement>(el: ClinicalEntry, selector: string): T => {
  const found = el.shadowRoot!.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector}`);
  return found;
};

async function type(el: ClinicalEntry, id: string, value: string): Promise<void> {
  const input = q<HTMLInputElement | HTMLTextAreaElement>(el, `#${id}`);
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  await el.updateComplete;
}

async function choose(el: ClinicalEntry, id: string, value: string): Promise<void> {
  const select = q<HTMLSelectElement>(el, `#${id}`);
  select.value = value;
  select.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
  await el.updateComplete;
}

async function click(el: ClinicalEntry, text: string): Promise<void> {
  const button = [...el.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent!.trim() === text);
  if (!button) throw new Error(`no button "${text}"`);
  button.click();
  await el.updateComplete;
}

/** The doctor fills every section. */
async function fillEverything(el: ClinicalEntry): Promise<void> {
  await type(el, 'f-date', '2026-11-20');
  await click(el, 'Add condition');
  await type(el, 'f-cond-0-text', 'Essential hypertension');
  await type(el, 'f-cond-0-onset', '2025-03-01');
  await click(el, 'Add medication');
  await choose(el, 'f-med-0-rxnorm', '316049');
  await type(el, 'f-med-0-dose', '25');
  await type(el, 'f-vital-systolic', '142');
  await type(el, 'f-vital-diastolic', '91');
  await type(el, 'f-vital-heartRate', '72');
  await type(el, 'f-vital-temperature', '36.8');
  await type(el, 'f-vital-weight', '81.5');
  await type(el, 'f-vital-height', '178');
  await click(el, 'Add lab result');
  await choose(el, 'f-lab-0-pick', '2339-0');
  await type(el, 'f-lab-0-value', '104');
  await type(el, 'f-lab-0-low', '70');
  await type(el, 'f-lab-0-high', '99');
  await type(el, 'f-assessment', 'Stage 1 hypertension.');
  await type(el, 'f-plan', 'Start a thiazide; recheck in 4 weeks.');
}

async function submit(el: ClinicalEntry): Promise<void> {
  q<HTMLButtonElement>(el, 'button[type="submit"]').click();
  await el.updateComplete;
}

/** A full entry saved and anchored, then opened for amendment. */
async function saveAnchorAndAmend(el: ClinicalEntry, entries: FixtureEntries): Promise<void> {
  await fillEverything(el);
  await submit(el);
  await until(() => el.shadowRoot!.querySelector('[part="result"]'), 'saved');
  await entries.anchorPending();
  await until(
    () => q(el, '[part="result"]').textContent!.includes('All 10 records of this entry are anchored.'),
    'anchored',
  );
  await click(el, 'Amend this entry');
}

describe('<clinical-entry>', () => {
  it('derives one HTTP entry source per bridge data source (a new one per render would restart tasks forever)', async () => {
    const bridge = {
      config: { bridgeUrl: 'http://bridge.invalid' },
      sessionToken: undefined,
    } as unknown as Parameters<typeof entrySourceFor>[0];
    const a = entrySourceFor(bridge);
    expect(a).to.be.instanceOf(HttpEntrySource);
    expect(entrySourceFor(bridge)).to.equal(a);
    const { entries } = await world();
    expect(entrySourceFor(entries.source), 'a source that takes entries is used as is').to.equal(
      entries.source,
    );
    expect(
      entrySourceFor(await FixtureDataSource.create({ bundle })),
      'a source without entries has none',
    ).to.equal(undefined);
  });

  it('says what to do without a data source or patient', async () => {
    const el = await fixture<ClinicalEntry>(html`<clinical-entry></clinical-entry>`);
    expect(el.shadowRoot!.textContent).to.contain('No data source');
    await expect(el).to.be.accessible();
  });

  it('renders an accessible form with every section', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await fillEverything(el);
    await expect(el).to.be.accessible();
    const legends = [...el.shadowRoot!.querySelectorAll('legend')].map((l) => l.textContent);
    expect(legends).to.deep.equal([
      'Encounter',
      'Medical history',
      'Medications',
      'Physical examination',
      'Lab results',
      'Assessment and plan',
    ]);
    expect(q(el, '#f-med-0-text').value, 'choosing an RxNorm code fills the drug').to.equal(
      'Hydrochlorothiazide 25 MG',
    );
    expect(q(el, '#f-lab-0-unit').value, 'choosing a lab test fills its UCUM unit').to.equal('mg/dL');
  });

  it('refuses to submit with a missing field and an impossible vital sign, marks exactly those fields and focuses the first', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await click(el, 'Add condition');
    await type(el, 'f-cond-0-text', 'Asthma');
    await type(el, 'f-vital-heartRate', '900');
    await type(el, 'f-vital-temperature', 'warm');
    await submit(el);
    const invalid = [...el.shadowRoot!.querySelectorAll('[aria-invalid="true"]')].map((e) => e.id);
    expect(invalid).to.deep.equal([
      'f-cond-0-onset',
      'f-vital-heartRate',
      'f-vital-temperature',
      'f-assessment',
    ]);
    const heart = q(el, '#f-vital-heartRate');
    const described = heart.getAttribute('aria-describedby')!.split(' ');
    expect(described).to.include('f-vital-heartRate-error');
    expect(q(el, '#f-vital-heartRate-error').textContent).to.equal(
      'Heart rate must be between 20 and 300 /min.',
    );
    expect(q(el, '#f-cond-0-onset-error').textContent).to.equal('Onset date is required.');
    expect(q(el, '#f-vital-temperature-error').textContent).to.equal('Body temperature must be a number.');
    expect(el.shadowRoot!.activeElement?.id, 'focus on the first wrong field').to.equal('f-cond-0-onset');
    expect(q(el, '[role="alert"]').textContent).to.contain('4 fields need attention');
    expect(entries.submitted.length, 'nothing was sent').to.equal(0);
    await expect(el).to.be.accessible();
    // Fixing a field clears its error at once.
    await type(el, 'f-vital-heartRate', '88');
    expect(heart.getAttribute('aria-invalid')).to.equal('false');
    expect(q(el, '#f-vital-heartRate-error').textContent).to.equal('');
  });

  it('checks blood pressure as a pair and diastolic below systolic, and lab units as UCUM', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await type(el, 'f-vital-systolic', '80');
    await type(el, 'f-vital-diastolic', '95');
    await click(el, 'Add lab result');
    await type(el, 'f-lab-0-name', 'Ferritin');
    await type(el, 'f-lab-0-value', '30');
    await type(el, 'f-lab-0-unit', 'ng per mL');
    await type(el, 'f-lab-0-low', '300');
    await type(el, 'f-lab-0-high', '20');
    await type(el, 'f-assessment', 'x');
    await submit(el);
    expect(q(el, '#f-vital-diastolic-error').textContent).to.equal(
      'Diastolic pressure must be lower than systolic.',
    );
    expect(q(el, '#f-lab-0-unit-error').textContent).to.contain('UCUM');
    expect(q(el, '#f-lab-0-high-error').textContent).to.contain('must not be below');
    expect(entries.submitted.length).to.equal(0);
  });

  it('keeps a draft across a reload, per patient, without putting it into attributes', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await click(el, 'Add condition');
    await type(el, 'f-cond-0-text', 'Migraine with aura');
    await type(el, 'f-vital-weight', '64');
    const attributes = [el, ...el.shadowRoot!.querySelectorAll('*')]
      .flatMap((n) => [...n.attributes].map((a) => a.value))
      .join(' ');
    expect(attributes).not.to.contain('Migraine');
    el.remove();
    // "Reload": a new element for the same patient finds the draft.
    const again = await entryForm(entries, ds.patientId);
    expect(q(again, '#f-cond-0-text').value).to.equal('Migraine with aura');
    expect(q(again, '#f-vital-weight').value).to.equal('64');
    expect(again.shadowRoot!.textContent).to.contain('Your unsaved draft was restored.');
    await expect(again).to.be.accessible();
    // Another patient starts empty.
    const other = await fixture<ClinicalEntry>(
      html`<clinical-entry .dataSource=${entries.source} patient-id="someone-else"></clinical-entry>`,
    );
    await until(
      () =>
        other.shadowRoot!.textContent!.includes('You do not have access') ||
        other.shadowRoot!.querySelector('form'),
      'other patient',
    );
    expect(other.shadowRoot!.querySelector('#f-cond-0-text')).to.equal(null);
  });

  it('keeps drafts per signed-in account: another doctor in the same browser starts empty, the first finds theirs again', async () => {
    const { ds, entries } = await world();
    const host = await fixture<HTMLDivElement>(html`<div></div>`);
    const session = (account: string): EhrSession => ({
      dataSource: entries.source,
      wallet: 'connected',
      account,
      role: 'doctor',
    });
    const provider = new ContextProvider(host, {
      context: ehrSessionContext,
      initialValue: session('0xAa00000000000000000000000000000000000001'),
    });
    const el = document.createElement('clinical-entry') as ClinicalEntry;
    el.patientId = ds.patientId;
    host.append(el);
    await until(() => el.shadowRoot!.querySelector('form'), 'the form');
    await type(el, 'f-assessment', 'Dr A: suspected migraine.');
    entries.refuseNext(new EntryRefusedError('forbidden', 'no grant', []));
    await submit(el); // a refusal: a message that belongs to doctor A
    await until(() => el.shadowRoot!.querySelector('[role="alert"]'), "doctor A's refusal");

    provider.setValue(session('0xBb00000000000000000000000000000000000002'));
    await until(() => q(el, '#f-assessment').value === '', "doctor B does not see doctor A's draft");
    expect(el.shadowRoot!.textContent).not.to.contain('Your unsaved draft was restored.');
    expect(el.shadowRoot!.querySelector('[role="alert"]'), "none of doctor A's messages").to.equal(null);
    await type(el, 'f-assessment', 'Dr B: tension headache.');

    // Back to doctor A (the address in another letter case is the same account).
    provider.setValue(session('0xaa00000000000000000000000000000000000001'));
    await until(() => q(el, '#f-assessment').value === 'Dr A: suspected migraine.', "doctor A's own draft");
    expect(el.shadowRoot!.textContent).to.contain('Your unsaved draft was restored.');
    provider.setValue(session('0xBb00000000000000000000000000000000000002'));
    await until(() => q(el, '#f-assessment').value === 'Dr B: tension headache.', "doctor B's own draft");
  });

  it('empties the form once the entry is saved (Save disabled while it is followed); "Write another entry" starts a new one, "Amend" brings back what was saved', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await fillEverything(el);
    await submit(el);
    await until(() => el.shadowRoot!.querySelector('[part="result"]'), 'saved');
    expect(q(el, '#f-assessment').value, 'the form is empty after the save').to.equal('');
    expect(q(el, '#f-vital-weight').value).to.equal('');
    expect(el.shadowRoot!.querySelector('#f-cond-0-text'), 'no condition rows').to.equal(null);
    expect(q<HTMLButtonElement>(el, 'button[type="submit"]').disabled, 'Save entry is disabled').to.equal(
      true,
    );
    await entries.anchorPending();
    await until(
      () => q(el, '[part="result"]').textContent!.includes('All 10 records of this entry are anchored.'),
      'anchored',
    );
    await click(el, 'Amend this entry');
    expect(q(el, '#f-assessment').value, 'the amendment starts from what was saved').to.equal(
      'Stage 1 hypertension.',
    );
    expect(q<HTMLButtonElement>(el, 'button[type="submit"]').textContent!.trim()).to.equal('Save amendment');
    await click(el, 'Discard draft');
    // A new save, then a new entry: empty, enabled, no result left on screen.
    await fillEverything(el);
    await submit(el);
    await until(() => el.shadowRoot!.querySelector('[part="result"]'), 'saved again');
    await entries.anchorPending();
    await until(
      () => q(el, '[part="result"]').textContent!.includes('All 10 records of this entry are anchored.'),
      'anchored again',
    );
    await click(el, 'Write another entry');
    expect(el.shadowRoot!.querySelector('[part="result"]'), 'the saved entry left the screen').to.equal(null);
    expect(q(el, '#f-assessment').value).to.equal('');
    expect(q<HTMLButtonElement>(el, 'button[type="submit"]').disabled).to.equal(false);
    expect(q<HTMLButtonElement>(el, 'button[type="submit"]').textContent!.trim()).to.equal('Save entry');
  });

  it('submits every section as one FHIR transaction through the data source and follows it to anchored', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await fillEverything(el);
    const submitted = oneEvent(el, 'ehr-entry-submitted');
    await submit(el);
    const { detail } = (await submitted) as EhrEntrySubmittedEvent;
    expect(detail.items.map((i) => i.resourceType)).to.deep.equal([
      'Encounter',
      'Condition',
      'MedicationRequest',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'ClinicalImpression',
    ]);
    const sent = entries.submitted[0]!;
    expect(sent.type).to.equal('transaction');
    const encounterUrl = sent.entry![0]!.fullUrl!;
    expect(encounterUrl).to.match(/^urn:uuid:/);
    for (const e of sent.entry!.slice(1))
      expect((e.resource as Condition).encounter?.reference).to.equal(encounterUrl);
    for (const e of sent.entry!)
      expect((e.resource as Condition).subject?.reference).to.equal(`Patient/${ds.patientId}`);
    const obs = sent
      .entry!.map((e) => e.resource)
      .filter((r): r is Observation => r?.resourceType === 'Observation');
    const bp = obs.find((o) => o.code.coding?.[0]?.code === '85354-9')!;
    expect(
      bp.component!.map((c) => [c.code.coding![0]!.code, c.valueQuantity!.value, c.valueQuantity!.code]),
    ).to.deep.equal([
      ['8480-6', 142, 'mm[Hg]'],
      ['8462-4', 91, 'mm[Hg]'],
    ]);
    expect(
      obs
        .filter((o) => o.valueQuantity)
        .map(
          (o) =>
            `${o.code.coding![0]!.code} ${o.valueQuantity!.value} ${o.valueQuantity!.system === 'http://unitsofmeasure.org' ? o.valueQuantity!.code : '?'}`,
        ),
    ).to.deep.equal([
      '8867-4 72 /min',
      '8310-5 36.8 Cel',
      '29463-7 81.5 kg',
      '8302-2 178 cm',
      '2339-0 104 mg/dL',
    ]);
    const lab = obs.at(-1)!;
    expect(lab.category![0]!.coding![0]!.code).to.equal('laboratory');
    expect([lab.referenceRange![0]!.low!.value, lab.referenceRange![0]!.high!.value]).to.deep.equal([70, 99]);
    const med = sent.entry![2]!.resource as MedicationRequest;
    expect(med.medicationCodeableConcept!.coding![0]).to.deep.include({
      system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
      code: '316049',
    });
    expect(med.dosageInstruction![0]!.text).to.equal('25 mg once daily');
    expect(sessionStorage.length, 'the draft is gone once saved').to.equal(0);

    await until(() => q(el, '[part="result"]').textContent!.includes('Stored on IPFS'), 'stored');
    await expect(el).to.be.accessible();
    const anchored = oneEvent(el, 'ehr-entry-anchored');
    await entries.anchorPending();
    await anchored;
    await until(
      () => q(el, '[part="result"]').textContent!.includes('All 10 records of this entry are anchored.'),
      'anchored',
    );
    expect(q(el, '[part="result"]').textContent).to.match(/Transaction: 0x[0-9a-f]{64}/);
    await expect(el).to.be.accessible();
  });

  it('shows a refusal from the server (no consent) and keeps the draft', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await type(el, 'f-assessment', 'Follow-up.');
    entries.refuseNext(
      new EntryRefusedError(
        'forbidden',
        'The patient has not granted you or Dev Hospital A access to: Conditions. Ask the patient to add these to a grant.',
        [],
      ),
    );
    await submit(el);
    await until(
      () =>
        el
          .shadowRoot!.querySelector('[role="alert"]')
          ?.textContent?.includes('access to: Conditions. Ask the patient to add these to a grant.'),
      'refusal',
    );
    // One reason, the server's: not the general "ask for access" besides it.
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).not.to.include(
      'You do not have access',
    );
    await expect(el).to.be.accessible();
    expect(sessionStorage.length, 'the draft is kept').to.equal(1);
  });

  it('amends the entry as new FHIR versions and shows the history with what changed, each version verified', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await saveAnchorAndAmend(el, entries);
    expect(q(el, 'h2').textContent).to.equal('Amend clinical entry');
    await choose(el, 'f-cond-0-status', 'resolved');
    await type(el, 'f-vital-heartRate', '68');
    await submit(el);
    await until(() => entries.submitted.length === 2, 'amendment sent');
    const amendment = entries.submitted[1]!;
    expect(
      amendment.entry!.every((e) => e.request!.method === 'PUT'),
      'every resource is PUT at its id',
    ).to.equal(true);
    expect(amendment.entry![1]!.request!.ifMatch).to.equal('W/"1"');
    await until(() => el.shadowRoot!.querySelector('[part="result"]'), 'amendment saved');
    await entries.anchorPending();
    await until(() => el.shadowRoot!.querySelector('[part="history"]'), 'history', 30_000);
    const history = q(el, '[part="history"]');
    const headings = [...history.querySelectorAll('h4')].map((h) => h.textContent);
    expect(headings).to.deep.equal(
      ['Condition', 'Observation'],
      'only the changed resources have new versions',
    );
    const panel = history.querySelector<EhrVersionHistory>('ehr-version-history')!;
    await until(
      () =>
        panel.shadowRoot!.querySelectorAll('[part="version"] [part="badge"][data-state="verified"]')
          .length === 2,
      'both versions verified',
      30_000,
    );
    const versions = [...panel.shadowRoot!.querySelectorAll('[part="version"]')];
    expect(versions.map((v) => v.getAttribute('data-version'))).to.deep.equal(['2', '1']);
    expect(versions[0]!.textContent).to.contain('clinicalStatus.coding[0].code');
    expect(versions[0]!.querySelector('del')!.textContent).to.equal('active');
    expect(versions[0]!.querySelector('ins')!.textContent).to.equal('resolved');
    expect(versions[1]!.textContent).to.contain('First version');
    expect(
      versions.every((v) => /Anchored in root 0x[0-9a-f]{64}/.test(v.textContent!)),
      'each version names its own root',
    ).to.equal(true);
    const current = entries.current().find((r): r is Condition => r.resourceType === 'Condition')!;
    expect([current.meta?.versionId, current.clinicalStatus?.coding?.[0]?.code]).to.deep.equal([
      '2',
      'resolved',
    ]);
    await expect(el).to.be.accessible();
  });
  it('shows a visible conflict when someone else amended the entry first (If-Match of an old version), saves nothing and keeps the draft', async () => {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await saveAnchorAndAmend(el, entries);
    // Meanwhile another doctor amends the Condition: it is at version 2 now.
    await entries.amendElsewhere<Condition>(
      'Condition',
      (c) => (c.clinicalStatus!.coding![0]!.code = 'inactive'),
    );

    // The doctor's amendment still names version 1.
    await choose(el, 'f-cond-0-status', 'remission');
    await type(el, 'f-vital-heartRate', '66');
    await submit(el);
    await until(() => el.shadowRoot!.querySelector('[part="refusal"][role="alert"]'), 'the refusal');
    const refusal = q(el, '[part="refusal"]');
    expect(refusal.dataset.kind).to.equal('conflict');
    expect(refusal.textContent).to.contain('Someone else amended this entry after you opened it');
    expect(refusal.textContent).to.contain('changed since version 1 (it is now at version 2)');
    expect(refusal.textContent).to.contain('Bundle.entry[1].request.ifMatch');
    expect(entries.submitted.at(-1)!.entry![1]!.request!.ifMatch, 'the amendment named version 1').to.equal(
      'W/"1"',
    );

    // Nothing was written: the other doctor's version is current and the only new one.
    const current = entries.current().find((r): r is Condition => r.resourceType === 'Condition')!;
    expect([current.meta?.versionId, current.clinicalStatus?.coding?.[0]?.code]).to.deep.equal([
      '2',
      'inactive',
    ]);
    expect(el.shadowRoot!.querySelector('[part="result"]'), 'no progress of a saved entry').to.equal(null);

    // The draft is kept: in the form, and across a reload.
    expect(q(el, 'h2').textContent).to.equal('Amend clinical entry');
    expect(q<HTMLSelectElement>(el, '#f-cond-0-status').value).to.equal('remission');
    expect(q(el, '#f-vital-heartRate').value).to.equal('66');
    expect(q<HTMLButtonElement>(el, 'button[type="submit"]').disabled).to.equal(false);
    await expect(el).to.be.accessible();
    el.remove();
    const again = await entryForm(entries, ds.patientId);
    expect(q(again, '#f-vital-heartRate').value).to.equal('66');
    expect(q<HTMLSelectElement>(again, '#f-cond-0-status').value).to.equal('remission');
  });

  /** Saved, anchored, amended elsewhere (Condition at version 2: inactive, onset moved), then this doctor's amendment of version 1 refused as a conflict. */
  async function conflicted(): Promise<{
    ds: FixtureDataSource;
    entries: FixtureEntries;
    el: ClinicalEntry;
  }> {
    const { ds, entries } = await world();
    const el = await entryForm(entries, ds.patientId);
    await saveAnchorAndAmend(el, entries);
    await entries.amendElsewhere<Condition>('Condition', (c) => {
      c.clinicalStatus!.coding![0]!.code = 'inactive';
      c.onsetDateTime = '2025-02-01';
    });
    await entries.anchorPending();
    await choose(el, 'f-cond-0-status', 'remission');
    await type(el, 'f-vital-heartRate', '66');
    await submit(el);
    await until(() => el.shadowRoot!.querySelector('[part="refusal"][data-kind="conflict"]'), 'the conflict');
    return { ds, entries, el };
  }

  const loadCurrent = async (el: ClinicalEntry) => {
    q<HTMLButtonElement>(el, '[part="load-current"]').click();
    await until(() => el.shadowRoot!.querySelector('[part="rebased"]'), 'the current version loaded');
  };

  it('after a conflict, "Load the current version" puts the other change into the form with the doctor\'s changes on top, and saving again succeeds on the new version', async () => {
    const { entries, el } = await conflicted();
    expect(q(el, '[part="load-current"]').textContent).to.equal('Load the current version');
    await expect(el).to.be.accessible();
    await loadCurrent(el);

    // Field by field: the onset only the other doctor changed is theirs; what this doctor changed stays.
    expect(q(el, '#f-cond-0-onset').value, 'their change applied').to.equal('2025-02-01');
    expect(
      q<HTMLSelectElement>(el, '#f-cond-0-status').value,
      "changed on both sides: this doctor's value kept",
    ).to.equal('remission');
    expect(q(el, '#f-vital-heartRate').value, 'only this doctor changed it').to.equal('66');
    expect(q(el, '#f-assessment').value, 'untouched').to.equal('Stage 1 hypertension.');
    const rebased = q(el, '[part="rebased"]');
    expect(rebased.textContent).to.contain('The current version is loaded (Condition version 2)');
    expect(rebased.querySelector('[data-path="conditions[0].onset"]')!.textContent).to.match(
      /Condition 1: Onset date:\s*2025-03-01\s*→\s*2025-02-01/,
    );
    expect(rebased.querySelector('[data-path="conditions[0].status"]')!.textContent).to.match(
      /yours\s*Remission, current version\s*Inactive/,
    );
    expect(el.shadowRoot!.querySelector('[part="refusal"]'), 'the conflict is resolved in the form').to.equal(
      null,
    );
    // The other version is shown with its history, each version verified.
    const history = q(el, '[part="history"]').querySelector<EhrVersionHistory>('ehr-version-history')!;
    await until(
      () => history.shadowRoot!.querySelectorAll('[part="badge"][data-state="verified"]').length === 2,
      'versions 2 and 1 verified',
    );
    await expect(el).to.be.accessible();

    // Saving again amends the current version (If-Match 2) and succeeds.
    await submit(el);
    await until(() => el.shadowRoot!.querySelector('[part="result"]'), 'the amendment saved');
    const sent = entries.submitted.at(-1)!.entry!.find((e) => e.resource!.resourceType === 'Condition')!;
    expect(sent.request!.ifMatch).to.equal('W/"2"');
    const current = entries.current().find((r): r is Condition => r.resourceType === 'Condition')!;
    expect([
      current.meta?.versionId,
      current.clinicalStatus?.coding?.[0]?.code,
      current.onsetDateTime,
    ]).to.deep.equal(['3', 'remission', '2025-02-01']);
    const heartRate = entries
      .current()
      .find(
        (r): r is Observation => r.resourceType === 'Observation' && r.code.coding?.[0]?.code === '8867-4',
      )!;
    expect(heartRate.valueQuantity!.value).to.equal(66);
    expect(sessionStorage.length, 'the draft is done once saved').to.equal(0);
  });

  it('after loading the current version, "Use current value" takes the other version\'s value for a field both changed (kept in the draft)', async () => {
    const { ds, entries, el } = await conflicted();
    await loadCurrent(el);
    const use = q<HTMLButtonElement>(el, '[part="rebased"] [data-path="conditions[0].status"] button');
    expect(use.getAttribute('aria-label')).to.equal(
      'Use current value for Condition 1: Clinical status (from the current version)',
    );
    use.click();
    await el.updateComplete;
    expect(q<HTMLSelectElement>(el, '#f-cond-0-status').value).to.equal('inactive');
    expect(
      el.shadowRoot!.querySelector('[part="rebased"] [data-path="conditions[0].status"]'),
      'no longer listed',
    ).to.equal(null);
    el.remove();
    const again = await entryForm(entries, ds.patientId);
    expect(q<HTMLSelectElement>(again, '#f-cond-0-status').value, 'the draft across a reload').to.equal(
      'inactive',
    );
    expect(q(again, 'h2').textContent).to.equal('Amend clinical entry');
    await submit(again);
    await until(
      () => again.shadowRoot!.querySelector('[part="result"]'),
      'saved on the current version after the reload',
    );
    expect(
      entries.submitted.at(-1)!.entry!.find((e) => e.resource!.resourceType === 'Condition')!.request!
        .ifMatch,
    ).to.equal('W/"2"');
  });
});
