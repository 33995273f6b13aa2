import { expect, fixture, html } from '@open-wc/testing';
import { emulateMedia, setViewport } from '@web/test-runner-commands';
import type { Bundle, CarePlan, DocumentReference, FhirResource, Observation, Patient } from 'fhir/r4';
import type { EhrDataSource } from '../../data/data-source.js';
import { bytesToBase64 } from '../../fhir/attachment.js';
import { Wallet } from 'ethers';
import { FixtureDataSource, TestWallet, bundleResources, expandResources } from '../../testing/index.js';
import { loadSyntheaBundle, loadXssCorpus } from '@ehr-anchor/testkit/browser-fixtures';
import {
  armXssOracle,
  settle,
  shadowQuery,
  signInThroughProvider,
  until,
  xssState,
} from '../../../test/helpers.js';
import './ehr-viewer.js';
import '../ehr-provider/ehr-provider.js';
import { EhrViewer } from './ehr-viewer.component.js';
import { common } from '../../styles/common.js';
import type { EhrProvider } from '../ehr-provider/ehr-provider.component.js';

let small: Bundle;
before(async () => {
  await setViewport({ width: 1400, height: 2400 });
  small = await loadSyntheaBundle('small-louis-erdman.json');
});

async function viewer(
  ds: EhrDataSource | undefined,
  patientId: string,
  mode: 'patient' | 'doctor' = 'patient',
): Promise<EhrViewer> {
  return fixture<EhrViewer>(
    html`<ehr-viewer .dataSource=${ds} patient-id=${patientId} mode=${mode}></ehr-viewer>`,
  );
}

function rows(el: EhrViewer): HTMLButtonElement[] {
  return [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part="record"]')];
}

async function open(el: EhrViewer, key: string): Promise<void> {
  // Rows are virtualized, so a record far down may not be in the DOM: open it by key (deep link).
  await until(() => rows(el).length > 0, 'rows');
  el.openRecord(key);
  await shadowQuery(el, '[part="detail"] [role="tablist"]', 'detail tabs');
}

function badge(el: EhrViewer, root: ParentNode = el.shadowRoot!): HTMLElement | null {
  return root.querySelector<HTMLElement>('[part="detail"] [part="badge"]');
}

describe('<ehr-viewer>', () => {
  it('says what to do when it has no data source', async () => {
    const el = await viewer(undefined, 'x');
    expect(el.shadowRoot!.textContent).to.contain('No data source');
    await expect(el).to.be.accessible();
  });

  it('uses the shared layout styles, and its heading color falls back to the shared --ehr-heading-color', async () => {
    expect(EhrViewer.styles, 'styles/common.ts, not a copy of it').to.include(common);
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    const heading = await shadowQuery(el, '[part="header"] h2', 'the patient heading');
    const filters = await shadowQuery(el, '[part="filters"]', 'the filters form');
    expect(getComputedStyle(filters).display, 'forms lay out as in the other elements').to.equal('flex');
    el.style.setProperty('--ehr-heading-color', 'rgb(1, 2, 3)');
    expect(getComputedStyle(heading).color).to.equal('rgb(1, 2, 3)');
    el.style.setProperty('--ehr-viewer-heading-color', 'rgb(4, 5, 6)');
    expect(getComputedStyle(heading).color, 'the element-specific property wins').to.equal('rgb(4, 5, 6)');
  });

  it('shows a loading state while the data source answers', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // Injected delay: every read waits for the test to release it.
    const slow = new Proxy(ds, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function'
          ? async (...args: unknown[]) => (
              await gate,
              (v as (...a: unknown[]) => unknown).apply(target, args)
            )
          : v;
      },
    });
    const el = await viewer(slow, ds.patientId);
    expect(el.shadowRoot!.textContent).to.contain('Loading the patient');
    expect(el.shadowRoot!.textContent).to.contain('Loading records');
    await expect(el).to.be.accessible();
    release();
    await until(() => rows(el).length > 0, 'rows after release');
  });

  it('explains a refusal and what to do about it', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, 'someone-else');
    const alert = await shadowQuery(el, '[role="alert"]', 'error');
    expect(alert.textContent).to.contain('Ask the patient to grant you access');
    await expect(el).to.be.accessible();
  });

  it('renders the header and a timeline grouped by category with verified badges', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    const heading = await shadowQuery(el, '[part="header"] h2', 'name');
    const patient = bundleResources(small).find((r): r is Patient => r.resourceType === 'Patient')!;
    expect(heading.textContent).to.contain(patient.name![0]!.family!);
    expect(el.shadowRoot!.querySelector('[part="header"]')!.textContent).to.contain(
      patient.identifier![0]!.value!,
    );
    await until(
      () => el.shadowRoot!.querySelector('[part="badge"][data-state="verified"]'),
      'a verified badge',
    );
    const groups = [...el.shadowRoot!.querySelectorAll('.group h4')].map((h) => h.textContent!.trim());
    expect(groups[0]).to.match(/^Encounters \(\d+\)$/);
    expect(groups.some((g) => g.startsWith('Observations & labs'))).to.equal(true);
    await until(
      () => !el.shadowRoot!.querySelector('[part="badge"][data-state="checking"]'),
      'all visible badges checked',
    );
    expect(el.shadowRoot!.querySelectorAll('[part="badge"][data-state="tampered"]').length).to.equal(0);
    await expect(el).to.be.accessible();
  });

  it('filters by category and by date, with an empty state that says what to do', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    await until(() => rows(el).length > 0, 'rows');
    const immunizations = [...el.shadowRoot!.querySelectorAll<HTMLLabelElement>('fieldset label')].find((l) =>
      l.textContent!.includes('Immunizations'),
    )!;
    immunizations.querySelector('input')!.click();
    await until(() => el.shadowRoot!.querySelectorAll('.group').length === 1, 'one group');
    expect(el.shadowRoot!.querySelector('.group h4')!.textContent).to.contain('Immunizations');
    const immCount = ds.keys().filter((k) => k.startsWith('Immunization/')).length;
    expect(el.shadowRoot!.querySelector('.count')!.textContent).to.contain(`${immCount} record`);
    const [from, to] = el.shadowRoot!.querySelectorAll<HTMLInputElement>('input[type="date"]');
    from!.value = '2199-01-01';
    from!.dispatchEvent(new Event('change'));
    to!.value = '2199-12-31';
    to!.dispatchEvent(new Event('change'));
    await until(() => el.shadowRoot!.textContent!.includes('No records match these filters'), 'empty state');
    expect(
      ds.calls.some(
        (c) => c.method === 'listRecords' && (c.args[1] as { from?: string }).from === '2199-01-01',
      ),
    ).to.equal(true);
    await expect(el).to.be.accessible();
  });

  it('opens a record: formatted values with units and ranges, raw JSON, and the proof', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    const key = ds.keys().find((k) => k.startsWith('Observation/'))!;
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'verified', 'verified detail');
    const obs = (await ds.getRecord(ds.patientId, key)).resource as Observation;
    const detail = el.shadowRoot!.querySelector('[part="detail"]')!;
    expect(detail.textContent).to.contain(obs.valueQuantity?.unit ?? obs.code.text!);
    await expect(el).to.be.accessible();
    const tabs = [...detail.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
    tabs[0]!.focus();
    tabs[0]!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    await until(() => el.shadowRoot!.querySelector('pre.raw'), 'raw JSON');
    expect(JSON.parse(el.shadowRoot!.querySelector('pre.raw')!.textContent!).id).to.equal(obs.id);
    el.shadowRoot!.querySelector<HTMLButtonElement>('#tab-proof')!.click();
    await until(() => el.shadowRoot!.textContent!.includes('Proof (leaf to root)'), 'proof tab');
    const d = await ds.getRecord(ds.patientId, key);
    expect(el.shadowRoot!.querySelector('[role="tabpanel"]')!.textContent).to.contain(d.anchor!.root);
    await expect(el).to.be.accessible();
  });

  it('marks records not yet anchored as pending', async () => {
    const ds = await FixtureDataSource.create({ bundle: small, pending: 3 });
    const el = await viewer(ds, ds.patientId);
    await open(el, ds.keys()[0]!);
    await until(() => badge(el)?.dataset.state === 'pending', 'pending badge');
    await expect(el).to.be.accessible();
  });

  it('shows a tampered badge with the reason when content changed after anchoring', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const key = ds.keys().find((k) => k.startsWith('Observation/'))!;
    ds.tamper(key, (r) => ((r as Observation).valueQuantity!.value = 999));
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'tampered', 'tampered badge');
    expect(badge(el)!.textContent).to.contain('content changed since anchoring');
    expect(el.shadowRoot!.querySelector('[part="detail"] [role="alert"]')!.textContent).to.contain(
      'content hash',
    );
    await expect(el).to.be.accessible();
  });

  it('shows tampered when the claimed root was never anchored on chain', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const key = ds.keys()[1]!;
    ds.claimUnanchoredRoot(key);
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'tampered', 'tampered badge');
    expect(badge(el)!.textContent).to.contain('root not anchored on chain');
  });

  it('shows unknown when the chain cannot be read', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    // Injected fault: the chain RPC is down.
    ds.anchorOf = () => Promise.reject(new Error('connection refused'));
    const el = await viewer(ds, ds.patientId);
    await open(el, ds.keys()[0]!);
    await until(() => badge(el)?.dataset.state === 'unknown', 'unknown badge');
  });

  it("lets a doctor search patients they may see and open one's record", async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, '', 'doctor');
    await expect(el).to.be.accessible();
    const family = ds.patient.name![0]!.family!;
    el.shadowRoot!.querySelector<HTMLInputElement>('input[name="text"]')!.value = family.slice(0, 4);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="search"] button[type="submit"]')!.click();
    const match = await shadowQuery<HTMLButtonElement>(el, '.matches button', 'a match');
    await expect(el).to.be.accessible();
    match.click();
    await until(
      () => el.shadowRoot!.querySelector('[part="header"] h2')?.textContent?.includes(family),
      'patient header',
    );
    el.shadowRoot!.querySelector<HTMLInputElement>('input[name="text"]')!.value = 'Nobody-Here';
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="search"] button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.textContent!.includes('No patient you have access to matches'),
      'no matches',
    );
  });

  it('lets the patient edit contact details', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    const edit = await shadowQuery<HTMLButtonElement>(el, '[part="header"] > button', 'edit button');
    edit.click();
    const phone = await shadowQuery<HTMLInputElement>(el, 'input[name="phone"]');
    await expect(el).to.be.accessible();
    phone.value = '555-0100';
    el.shadowRoot!.querySelector<HTMLButtonElement>('.contact-form button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.querySelector('[part="header"]')!.textContent!.includes('555-0100'),
      'new phone shown',
    );
    expect(ds.patient.telecom!.find((t) => t.system === 'phone')!.value).to.equal('555-0100');
    expect(el.shadowRoot!.querySelector('[role="status"][aria-live]')!.textContent).to.contain('saved');
  });

  it("shows the Patient record's own versions in the header: closed, nothing is read; opened, every version with its own verification and what changed", async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    const disclosure = await shadowQuery<HTMLDetailsElement>(
      el,
      '[part="header"] details[part="patient-versions"]',
      'the Versions disclosure',
    );
    expect(disclosure.querySelector('summary')!.textContent).to.equal('Versions');
    expect(disclosure.querySelector('ehr-version-history'), 'closed: nothing rendered').to.equal(null);
    expect(
      ds.calls.some((c) => c.method === 'versions'),
      'closed: nothing read',
    ).to.equal(false);
    const history = () => el.shadowRoot!.querySelector('[part="patient-versions"] ehr-version-history');
    const versions = () =>
      [...(history()?.shadowRoot?.querySelectorAll('[part="version"]') ?? [])].map((v) => [
        v.getAttribute('data-version'),
        v.querySelector('[part="badge"]')!.getAttribute('data-state'),
      ]);

    // One version: listed alone, verified.
    disclosure.querySelector('summary')!.click();
    await until(() => versions().length === 1 && versions()[0]![1] !== 'checking', 'version 1');
    expect(versions()).to.deep.equal([['1', 'verified']]);
    await expect(el).to.be.accessible();

    // The patient edits the contact: a new Patient version, anchored in a batch of its own.
    (await shadowQuery<HTMLButtonElement>(el, '[part="header"] > button', 'edit button')).click();
    (await shadowQuery<HTMLInputElement>(el, 'input[name="phone"]')).value = '555-0100';
    el.shadowRoot!.querySelector<HTMLButtonElement>('.contact-form button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.querySelector('[part="header"] dl')!.textContent!.includes('555-0100'),
      'new phone shown',
    );
    await until(() => versions().length === 2, 'version 2 listed after the edit');
    expect(versions(), 'the new version waits for its anchor').to.deep.equal([
      ['2', 'pending'],
      ['1', 'verified'],
    ]);
    await ds.anchorPending();
    // Closing and opening again reads the versions again.
    const details = el.shadowRoot!.querySelector<HTMLDetailsElement>('[part="patient-versions"]')!;
    details.querySelector('summary')!.click();
    await until(() => !history(), 'closed');
    details.querySelector('summary')!.click();
    await until(
      () => versions().length === 2 && versions().every(([, st]) => st === 'verified'),
      'both versions verified',
    );
    expect(versions()).to.deep.equal([
      ['2', 'verified'],
      ['1', 'verified'],
    ]);
    const changes = [...history()!.shadowRoot!.querySelectorAll('[data-version="2"] ins')].map(
      (i) => i.textContent,
    );
    expect(changes, 'what changed').to.include('555-0100');
    await expect(el).to.be.accessible();
  });

  it('marks a tampered version of the Patient record in the header', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const { key } = await ds.getPatient(ds.patientId);
    ds.tamper(key!, (r) => ((r as Patient).birthDate = '1900-01-01'));
    const el = await viewer(ds, ds.patientId);
    const disclosure = await shadowQuery<HTMLDetailsElement>(
      el,
      '[part="patient-versions"]',
      'the Versions disclosure',
    );
    disclosure.querySelector('summary')!.click();
    const history = await shadowQuery<HTMLElement>(
      el,
      '[part="patient-versions"] ehr-version-history',
      'the history',
    );
    await until(
      () => history.shadowRoot!.querySelector('[part="badge"][data-state="tampered"]'),
      'the tampered version 1',
    );
  });

  it('shows another patient’s genuine, anchored record as tampered: belongs to another patient', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const key = ds.keys().find((k) => k.startsWith('Observation/'))!;
    // Injected fault: what a dishonest bridge could send — a real record, really anchored, of someone else.
    await ds.serveAnotherPatientsRecord(key);
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'tampered', 'tampered badge');
    expect(badge(el)!.textContent).to.contain('belongs to another patient');
    const alert = el.shadowRoot!.querySelector('[part="detail"] [role="alert"]')!;
    expect(alert.textContent).to.contain('This record is about another patient, not the one shown here.');
    expect(el.shadowRoot!.querySelector('[part="detail"] [role="tabpanel"] [part="attachment"]')).to.equal(
      null,
    );
    await expect(el).to.be.accessible();
  });

  it('shows a record whose root another hospital anchored as tampered: anchored by another hospital', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const key = ds.keys().find((k) => k.startsWith('Condition/'))!;
    await ds.anchorByAnotherHospital(key);
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'tampered', 'tampered badge');
    expect(badge(el)!.textContent).to.contain('anchored by another hospital');
    expect(el.shadowRoot!.querySelector('[part="detail"] [role="alert"]')!.textContent).to.contain(
      'anchored by another hospital than the one it comes from',
    );
  });

  it('shows unknown, never verified, when whose record it is cannot be confirmed on chain', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    // Injected fault: the chain lookup of the patient's subject fails.
    ds.expectedSubject = () => Promise.reject(new Error('connection refused'));
    const el = await viewer(ds, ds.patientId);
    await open(el, ds.keys()[0]!);
    await until(() => badge(el)?.dataset.state === 'unknown', 'unknown badge');
    expect(badge(el)!.getAttribute('title')).to.contain('could not be confirmed on chain');
  });

  it('never shows an edited narrative under a Verified badge: the narrative is a labelled disclosure outside the proof', async () => {
    const carePlan = structuredClone(
      bundleResources(small).find((r): r is CarePlan => r.resourceType === 'CarePlan')!,
    );
    carePlan.text = {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml">Original plan</div>',
    };
    const ds = await FixtureDataSource.create({
      resources: [...bundleResources(small).filter((r) => r.id !== carePlan.id), carePlan],
    });
    const key = ds.keys().find((k) => k.startsWith(`CarePlan/${carePlan.id}/`))!;
    // Injected fault: the narrative (not covered by the content hash in record model v1) is edited after anchoring.
    ds.tamper(
      key,
      (r) =>
        ((r as CarePlan).text!.div =
          '<div xmlns="http://www.w3.org/1999/xhtml">EDITED: stop all medication</div>'),
    );
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'verified', 'the structured content still verifies');
    const panel = el.shadowRoot!.querySelector<HTMLElement>('[role="tabpanel"]')!;
    const disclosure = await shadowQuery<HTMLDetailsElement>(
      el,
      'details[part="narrative-disclosure"]',
      'narrative disclosure',
    );
    expect(disclosure.open, 'closed until the reader asks').to.equal(false);
    expect(disclosure.querySelector('summary')!.textContent).to.contain('not covered by the proof');
    // The edited text exists only inside the labelled disclosure, nowhere else under the badge.
    const outside = [...panel.childNodes]
      .filter((n) => n !== disclosure)
      .map((n) => n.textContent)
      .join('');
    expect(outside).to.not.contain('EDITED');
    await until(
      () => disclosure.querySelector('[part="narrative"]')?.textContent?.includes('EDITED'),
      'sanitized narrative',
    );
    // Raw JSON shows exactly what the proof covers: no narrative.
    el.shadowRoot!.querySelector<HTMLButtonElement>('#tab-raw')!.click();
    await until(() => el.shadowRoot!.querySelector('pre.raw'), 'raw JSON');
    expect(el.shadowRoot!.querySelector('pre.raw')!.textContent).to.not.contain('EDITED');
    expect(JSON.parse(el.shadowRoot!.querySelector('pre.raw')!.textContent!)).to.not.have.property('text');
    await expect(el).to.be.accessible();
  });

  it('gives the patient header its own verdict: verified, and tampered when the Patient record was changed', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const headerBadge = (el: EhrViewer) =>
      el.shadowRoot!.querySelector<HTMLElement>('[part="header"] [part="badge"]');
    const el = await viewer(ds, ds.patientId);
    await until(() => headerBadge(el)?.dataset.state === 'verified', 'verified header');
    expect(ds.calls.some((c) => c.method === 'expectedSubject' && c.args[0] === ds.patientId)).to.equal(true);
    el.remove();
    const { key } = await ds.getPatient(ds.patientId);
    ds.tamper(key!, (r) => ((r as Patient).birthDate = '1900-01-01'));
    const again = await viewer(ds, ds.patientId);
    await until(() => headerBadge(again)?.dataset.state === 'tampered', 'tampered header');
    expect(headerBadge(again)!.textContent).to.contain('content changed since anchoring');
    expect(again.shadowRoot!.querySelector('[part="header"] [role="alert"]')!.textContent).to.contain(
      'changed after the hospital anchored it',
    );
    await expect(again).to.be.accessible();
  });

  it('shows the real proof path for a record alone in its batch: the leaf is the root', async () => {
    const ds = await FixtureDataSource.create({ bundle: small, pending: 1 });
    const key = ds.keys()[0]!;
    await ds.anchorPending(); // a batch of one
    const d = await ds.getRecord(ds.patientId, key);
    expect(d.proof).to.deep.equal([]);
    const el = await viewer(ds, ds.patientId);
    await open(el, key);
    await until(() => badge(el)?.dataset.state === 'verified', 'verified');
    el.shadowRoot!.querySelector<HTMLButtonElement>('#tab-proof')!.click();
    const single = await shadowQuery(el, '.proof-single', 'batch-of-one sentence');
    expect(single.textContent).to.contain('its leaf hash is the root itself');
    const panel = el.shadowRoot!.querySelector('[role="tabpanel"]')!.textContent!;
    expect(panel).to.contain(d.anchor!.root);
    // Leaf hash and root are the same value, shown both times.
    expect(panel.split(d.anchor!.root).length - 1).to.equal(2);
    await expect(el).to.be.accessible();
  });

  it('saves only the edited contact field, keeps everything else (geolocation too), and says what changed', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const before = structuredClone((await ds.getPatient(ds.patientId)).resource);
    const el = await viewer(ds, ds.patientId);
    (await shadowQuery<HTMLButtonElement>(el, '[part="header"] > button', 'edit button')).click();
    const email = await shadowQuery<HTMLInputElement>(el, 'input[name="email"]');
    email.value = 'new@example.org';
    el.shadowRoot!.querySelector<HTMLButtonElement>('.contact-form button[type="submit"]')!.click();
    const saved = await shadowQuery(el, '[part="header"] p.saved[role="status"]', 'save confirmation');
    expect(saved.textContent).to.contain('Email added: new@example.org');
    const change = ds.calls.find((c) => c.method === 'updateContact')!.args[1];
    expect(change, 'only the edited field is sent').to.deep.equal({
      baseVersionId: '1',
      email: 'new@example.org',
    });
    const after = (await ds.getPatient(ds.patientId)).resource;
    const { meta: _m, telecom: t1, ...rest } = after;
    const { meta: _m0, telecom: t0, ...restBefore } = before;
    expect(rest).to.deep.equal(restBefore);
    expect(rest.address?.[0]?.extension, 'the geolocation extension is kept').to.deep.equal(
      before.address?.[0]?.extension,
    );
    expect(t1).to.deep.equal([...(t0 ?? []), { system: 'email', value: 'new@example.org' }]);
  });

  it('refuses a contact save made on an older version and keeps nothing of it', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    const el = await viewer(ds, ds.patientId);
    (await shadowQuery<HTMLButtonElement>(el, '[part="header"] > button', 'edit button')).click();
    const phone = await shadowQuery<HTMLInputElement>(el, 'input[name="phone"]');
    // Someone else saved a change meanwhile (another tab).
    await ds.updateContact(ds.patientId, { baseVersionId: '1', email: 'other-tab@example.org' });
    phone.value = '555-0199';
    el.shadowRoot!.querySelector<HTMLButtonElement>('.contact-form button[type="submit"]')!.click();
    const alert = await shadowQuery(el, '[part="header"] p.error[role="alert"]', 'conflict');
    expect(alert.textContent).to.contain('Someone else changed this record since you opened it');
    expect(ds.patient.telecom?.find((t) => t.system === 'phone')?.value).to.not.equal('555-0199');
  });

  it('stays accessible in dark mode (contrast of the dark tokens)', async () => {
    const ds = await FixtureDataSource.create({ bundle: small });
    await emulateMedia({ colorScheme: 'dark' });
    try {
      const el = await viewer(ds, ds.patientId);
      await until(
        () => el.shadowRoot!.querySelector('[part="badge"][data-state="verified"]'),
        'a verified badge',
      );
      const key = ds.keys().find((k) => k.startsWith('Observation/'))!;
      await open(el, key);
      await until(() => badge(el)?.dataset.state === 'verified', 'verified detail');
      expect(getComputedStyle(el).colorScheme).to.contain('dark');
      await expect(el).to.be.accessible();
    } finally {
      await emulateMedia({ colorScheme: 'light' });
    }
  });

  it('renders every row of a short history (40 rows or fewer are not virtualized)', async () => {
    const base = bundleResources(small);
    const patient = base.find((r) => r.resourceType === 'Patient')!;
    const some = base.filter((r) => r.resourceType === 'Observation').slice(0, 30);
    const ds = await FixtureDataSource.create({ resources: [patient, ...some] });
    const el = await viewer(ds, ds.patientId);
    await until(() => el.shadowRoot!.querySelector('.count')?.textContent?.includes('30 records'), 'count');
    await until(() => rows(el).length > 0, 'rows');
    expect(rows(el).length).to.equal(30);
    await until(
      () => !el.shadowRoot!.querySelector('[part="badge"][data-state="checking"]'),
      'all badges checked',
    );
    // 30 rows and the patient header, each with its own verdict.
    expect(
      el.shadowRoot!.querySelectorAll('[part="record"] [part="badge"][data-state="verified"]').length,
    ).to.equal(30);
    expect(
      el.shadowRoot!.querySelector('[part="header"] [part="badge"]')!.getAttribute('data-state'),
    ).to.equal('verified');
    await expect(el).to.be.accessible();
  });

  it('virtualizes long histories: 3,000 records, a few dozen rows in the DOM', async () => {
    const xl = await loadSyntheaBundle('xlarge-stewart-stanton.json');
    const ds = await FixtureDataSource.create({ resources: expandResources(bundleResources(xl), 3000) });
    const el = await viewer(ds, ds.patientId);
    await until(() => el.shadowRoot!.querySelector('.count')?.textContent?.includes('3000 records'), 'count');
    await until(() => rows(el).length > 0, 'rows');
    expect(rows(el).length).to.be.lessThan(200);
    const list = el.shadowRoot!.querySelector<HTMLElement>('[part="record-list"]')!;
    const firstBefore = rows(el)[0]!.textContent;
    list.scrollTop = list.scrollHeight / 2;
    await until(() => rows(el)[0]?.textContent !== firstBefore, 'rows replaced after scrolling');
    expect(rows(el).length).to.be.lessThan(200);
  });

  it('lets keyboard users reach and scroll the virtualized timeline (a named, focusable scroll region)', async () => {
    const xl = await loadSyntheaBundle('xlarge-stewart-stanton.json');
    const ds = await FixtureDataSource.create({ resources: expandResources(bundleResources(xl), 500) });
    const el = await viewer(ds, ds.patientId);
    await until(() => rows(el).length > 0, 'rows');
    const list = el.shadowRoot!.querySelector<HTMLElement>('[part="record-list"]')!;
    expect(list.scrollHeight).to.be.greaterThan(list.clientHeight, 'the list scrolls');
    // axe scrollable-region-focusable: the scroller itself is in the tab order, named by the timeline heading.
    expect(list.getAttribute('tabindex')).to.equal('0');
    const name = el.shadowRoot!.getElementById(list.getAttribute('aria-labelledby')!)?.textContent?.trim();
    expect(name).to.equal('Records');
    list.focus();
    expect(el.shadowRoot!.activeElement).to.equal(list);
    await expect(el).to.be.accessible();
  });
});

describe('<ehr-viewer> against the XSS corpus', () => {
  it('never runs a narrative payload (sanitized with DOMPurify), even when its links are clicked', async () => {
    const corpus = await loadXssCorpus();
    const base = bundleResources(small);
    const carePlan = base.find((r): r is CarePlan => r.resourceType === 'CarePlan')!;
    const hostile: FhirResource[] = corpus.narrative.map((p) => ({
      ...structuredClone(carePlan),
      id: `xss-${p.id}`,
      text: { status: 'generated', div: p.payload },
    }));
    const ds = await FixtureDataSource.create({ resources: [...base, ...hostile] });
    armXssOracle();
    const el = await viewer(ds, ds.patientId);
    for (const p of corpus.narrative) {
      const key = ds.keys().find((k) => k.startsWith(`CarePlan/xss-${p.id}/`))!;
      await open(el, key);
      const narrative = await shadowQuery(el, '[part="narrative"]', `narrative ${p.id}`);
      expect(
        narrative.querySelector(
          'script, iframe, object, embed, svg, math, form, input, style, img, meta, base',
        ),
        p.id,
      ).to.equal(null);
      for (const a of narrative.querySelectorAll('a')) {
        expect(a.getAttribute('href') ?? '', p.id).to.not.match(/^\s*(javascript|data|vbscript):/i);
        a.addEventListener('click', (e) => e.preventDefault(), { once: true });
        a.click();
      }
      for (const b of narrative.querySelectorAll('button')) b.click();
      await settle();
      expect(xssState(), p.id).to.deep.equal({ ran: undefined, dialogs: [] });
    }
    await expect(el).to.be.accessible();
  });

  it('renders hostile display strings and URLs as inert text', async () => {
    const corpus = await loadXssCorpus();
    const base = bundleResources(small);
    const patient = structuredClone(base.find((r): r is Patient => r.resourceType === 'Patient')!);
    patient.name = [
      { family: corpus.strings[0]!.payload, given: corpus.strings.slice(1).map((s) => s.payload) },
    ];
    patient.telecom = corpus.urls.map((u) => ({ system: 'url' as const, value: u.payload }));
    const obs = base.find((r): r is Observation => r.resourceType === 'Observation')!;
    const hostile: Observation[] = corpus.strings.map((s) => ({
      ...structuredClone(obs),
      id: `xss-${s.id}`,
      code: { text: s.payload, coding: [{ display: s.payload, code: s.payload }] },
    }));
    const ds = await FixtureDataSource.create({
      resources: [patient, ...base.filter((r) => r.resourceType !== 'Patient'), ...hostile],
    });
    armXssOracle();
    const el = await viewer(ds, ds.patientId);
    const header = await shadowQuery(el, '[part="header"] h2', 'name');
    expect(header.textContent).to.contain(corpus.strings[0]!.payload);
    expect(
      el.shadowRoot!.querySelectorAll('[part="header"] a').length,
      'no hostile URL becomes a link',
    ).to.equal(0);
    for (const s of corpus.strings) {
      await open(
        el,
        ds.keys().find((k) => k.startsWith(`Observation/xss-${s.id}/`))!,
      );
      await until(
        () => el.shadowRoot!.querySelector('[part="detail"] h4')?.textContent === s.payload,
        `title ${s.id} as text`,
      );
    }
    await settle();
    expect(xssState()).to.deep.equal({ ran: undefined, dialogs: [] });
  });

  it('shows hostile attachments only after verification, sandboxed or as text, never running them', async () => {
    const corpus = await loadXssCorpus();
    const base = bundleResources(small);
    const enc = new TextEncoder();
    const docs: DocumentReference[] = corpus.attachments.map((a) => ({
      resourceType: 'DocumentReference',
      id: `xss-${a.id}`,
      status: 'current',
      subject: { reference: 'Patient/x' },
      date: '2020-01-01T00:00:00Z',
      description: `Attachment ${a.id}`,
      content: [
        {
          attachment: {
            contentType: a.contentType!,
            title: `${a.id}.bin`,
            data: bytesToBase64(enc.encode(a.payload)),
          },
        },
      ],
    }));
    const tamperedDoc: DocumentReference = { ...structuredClone(docs[0]!), id: 'xss-tampered' };
    const ds = await FixtureDataSource.create({ resources: [...base, ...docs, tamperedDoc] });
    ds.tamper(
      ds.keys().find((k) => k.startsWith('DocumentReference/xss-tampered/'))!,
      (r) => ((r as DocumentReference).description = 'changed'),
    );
    armXssOracle();
    const el = await viewer(ds, ds.patientId);

    await open(
      el,
      ds.keys().find((k) => k.startsWith('DocumentReference/xss-tampered/'))!,
    );
    await until(() => badge(el)?.dataset.state === 'tampered', 'tampered document');
    expect(el.shadowRoot!.querySelector('[part="attachment"]'), 'no attachment before verification').to.equal(
      null,
    );
    expect(el.shadowRoot!.textContent).to.contain('Attachments are shown once the record is verified');

    for (const a of corpus.attachments) {
      await open(
        el,
        ds.keys().find((k) => k.startsWith(`DocumentReference/xss-${a.id}/`))!,
      );
      await until(() => badge(el)?.dataset.state === 'verified', `verified ${a.id}`);
      const fig = await shadowQuery(el, '[part="attachment"]', `attachment ${a.id}`);
      const frame = fig.querySelector('iframe');
      if (frame) {
        expect(frame.getAttribute('sandbox'), a.id).to.equal('');
        await until(() => frame.contentWindow !== null, 'frame window');
      }
      expect(fig.querySelector('img')?.src.startsWith('blob:') ?? true).to.equal(true);
      const link = fig.querySelector<HTMLAnchorElement>('a[download]')!;
      expect(link.href.startsWith('blob:'), a.id).to.equal(true);
      await settle();
      expect(xssState(), a.id).to.deep.equal({ ran: undefined, dialogs: [] });
    }
    await expect(el).to.be.accessible();
  });
});

describe('<ehr-viewer> inside <ehr-provider>', () => {
  it('with an explicit patient-id, reads the patient and records again once the person signs in through <ehr-provider>', async () => {
    // Like the real bridge: every read before Sign-In with Ethereum is refused (401).
    const ds = await FixtureDataSource.create({ bundle: small, requireSignIn: true });
    // anvil's well-known dev key #8 (public test key).
    const wallet = new TestWallet(
      new Wallet('0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97'),
      1337,
    );
    const provider = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}><ehr-viewer patient-id=${ds.patientId}></ehr-viewer></ehr-provider>`,
    );
    const el = provider.querySelector<EhrViewer>('ehr-viewer')!;
    const alerts = () => [...el.shadowRoot!.querySelectorAll('[role="alert"]')].map((a) => a.textContent!);
    await until(
      () => alerts().some((a) => a.includes('You are not signed in')),
      'the anonymous read refused',
    );
    expect(rows(el)).to.have.length(0);
    await signInThroughProvider(provider);
    await until(() => rows(el).length > 0, 'records read again after sign-in');
    await shadowQuery(el, '[part="header"] h2', 'the patient header read again');
    await shadowQuery(el, '[part="badge"][data-state="verified"]', 'a verified record');
    expect(
      alerts().filter((a) => a.includes('not signed in')),
      'no stale refusal',
    ).to.deep.equal([]);
    expect(el.patientId, 'the page-given patient stays').to.equal(ds.patientId);
    await expect(provider).to.be.accessible();
  });
});
