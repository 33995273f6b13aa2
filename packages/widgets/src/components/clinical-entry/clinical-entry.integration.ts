/**
 * <clinical-entry> against the real stack (web-test-runner.clinical-entry.config.mjs): a doctor
 * signed in with Ethereum writes an entry with every section; the bridge stores it on HAPI FHIR
 * and anchors the server's versions; the element follows them to "anchored"; an amendment shows
 * two versions verified against the chain; <ehr-viewer> shows the entry verified; a doctor of
 * another hospital is refused and nothing is written.
 */
import { assert, expect, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle, Condition, Encounter, FhirResource, Observation } from 'fhir/r4';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { until } from '../../../test/helpers.js';
import { signedIn as signedInOn, type StackSettings } from '../../../test/integration/stack-session.js';
import '../../index.js';
import type { EhrViewer } from '../ehr-viewer/ehr-viewer.component.js';
import { ehrViewerStrings } from '../ehr-viewer/ehr-viewer.strings.js';
import type { ClinicalEntry, EhrEntrySubmittedEvent } from './clinical-entry.component.js';
import { entrySourceFor } from './clinical-entry.source.js';
import type { EhrVersionHistory } from '../ehr-viewer/version-history.js';

interface Stack extends StackSettings {
  fhirBaseUrl: string;
  doctorKey: string;
  otherHospitalDoctorKey: string;
}

let stack: Stack;
before(async () => {
  await setViewport({ width: 1400, height: 3000 });
  stack = (await (await fetch('/__clinical-entry-stack.json')).json()) as Stack;
});
// A refused entry keeps its draft (per patient, in sessionStorage); each test starts without one.
beforeEach(() => sessionStorage.clear());

const signedIn = (key: string, inner: ReturnType<typeof html>) => signedInOn(stack, key, inner);

const field = (el: ClinicalEntry, id: string) =>
  el.shadowRoot!.querySelector<HTMLInputElement & HTMLSelectElement>(`#${id}`)!;
async function type(el: ClinicalEntry, id: string, value: string): Promise<void> {
  const f = field(el, id);
  f.value = value;
  f.dispatchEvent(new Event(f.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true, composed: true }));
  await el.updateComplete;
}
async function click(el: ClinicalEntry, text: string): Promise<void> {
  [...el.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent!.trim() === text)!.click();
  await el.updateComplete;
}

/** Waits for the form; fails at once with the element's own message if it shows an error instead. */
async function formOf(el: ClinicalEntry): Promise<void> {
  await until(
    () => el.shadowRoot!.querySelector('form') || el.shadowRoot!.querySelector('[role="alert"]'),
    'the form (patient read from the bridge)',
    60_000,
  );
  const alert = el.shadowRoot!.querySelector('[role="alert"]');
  if (!el.shadowRoot!.querySelector('form')) throw new Error(`no form: ${alert?.textContent ?? ''}`);
}

async function fhir<T>(path: string): Promise<T> {
  // no-store: HAPI sends Last-Modified, and a heuristically cached read would hide a new version.
  const res = await fetch(`${stack.fhirBaseUrl}/${path}`, {
    headers: { accept: 'application/fhir+json' },
    cache: 'no-store',
  });
  return (await res.json()) as T;
}

async function fillEverything(el: ClinicalEntry): Promise<void> {
  await type(el, 'f-date', new Date().toISOString().slice(0, 10));
  await click(el, 'Add condition');
  await type(el, 'f-cond-0-text', 'Essential hypertension');
  await type(el, 'f-cond-0-onset', '2025-03-01');
  await click(el, 'Add medication');
  await type(el, 'f-med-0-rxnorm', '316049');
  await type(el, 'f-med-0-dose', '25');
  for (const [k, v] of Object.entries({
    systolic: '142',
    diastolic: '91',
    heartRate: '72',
    temperature: '36.8',
    weight: '81.5',
    height: '178',
  }))
    await type(el, `f-vital-${k}`, v);
  await click(el, 'Add lab result');
  await type(el, 'f-lab-0-pick', '2339-0');
  await type(el, 'f-lab-0-value', '104');
  await type(el, 'f-lab-0-low', '70');
  await type(el, 'f-lab-0-high', '99');
  await type(el, 'f-assessment', 'Stage 1 hypertension.');
}

/** A signed-in doctor's <clinical-entry> with every section filled in (not saved). */
async function filledForm(
  key = stack.doctorKey,
): Promise<{ provider: Awaited<ReturnType<typeof signedIn>>; el: ClinicalEntry }> {
  const provider = await signedIn(
    key,
    html`<clinical-entry patient-id=${stack.subject} poll-interval="300"></clinical-entry>`,
  );
  const el = provider.querySelector<ClinicalEntry>('clinical-entry')!;
  await formOf(el);
  await fillEverything(el);
  return { provider, el };
}

/** Waits until every one of the `n` records of the last save is anchored. */
const allAnchored = (el: ClinicalEntry, n: number, what: string) =>
  until(
    () =>
      el
        .shadowRoot!.querySelector('[part="result"]')
        ?.textContent?.includes(`All ${n} records of this entry are anchored.`),
    what,
    180_000,
  );

/** A doctor signed in saves an entry with every section and waits until it is anchored. */
async function savedEntry(): Promise<{
  provider: Awaited<ReturnType<typeof signedIn>>;
  el: ClinicalEntry;
  items: EhrEntrySubmittedEvent['detail']['items'];
}> {
  const { provider, el } = await filledForm();
  let items: EhrEntrySubmittedEvent['detail']['items'] = [];
  el.addEventListener('ehr-entry-submitted', (e) => (items = e.detail.items), { once: true });
  el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  await allAnchored(el, 10, 'the entry anchored');
  return { provider, el, items };
}

/** The same entry amended elsewhere first (another tab, through the bridge): each resource PUT over its version 1. */
async function amendElsewhere(
  provider: Awaited<ReturnType<typeof signedIn>>,
  resources: (Encounter | Condition | Observation)[],
): Promise<void> {
  await entrySourceFor(provider.session!.dataSource)!.submitEntry(stack.subject, {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ifMatch: 'W/"1"' },
    })),
  });
}

describe('<clinical-entry> against the real bridge, HAPI FHIR, anvil and Kubo', () => {
  it('a doctor creates an entry with every section: stored on HAPI with its codes and units, anchored, amended into two verified versions, verified in <ehr-viewer>', async () => {
    const { provider, el } = await filledForm();
    // An impossible vital sign is caught before anything is sent.
    await type(el, 'f-vital-temperature', '73');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(
      () => field(el, 'f-vital-temperature').getAttribute('aria-invalid') === 'true',
      'temperature marked',
    );
    expect(el.shadowRoot!.querySelector('#f-vital-temperature-error')!.textContent).to.equal(
      'Body temperature must be between 25 and 45 Cel.',
    );
    await type(el, 'f-vital-temperature', '36.8');

    let items: EhrEntrySubmittedEvent['detail']['items'] = [];
    el.addEventListener('ehr-entry-submitted', (e) => (items = e.detail.items), { once: true });
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => items.length === 10, 'the bridge accepted the entry', 60_000);
    await until(
      () =>
        el
          .shadowRoot!.querySelector('[part="result"]')
          ?.textContent?.includes('All 10 records of this entry are anchored.'),
      'anchored',
      180_000,
    );
    await expect(el).to.be.accessible();

    // On the FHIR server, with codes and units.
    const encounter = items.find((i) => i.resourceType === 'Encounter')!;
    const obs = await fhir<Bundle>(`Observation?encounter=Encounter/${encounter.resourceId}`);
    const codes = (obs.entry ?? [])
      .map((e) => e.resource as Observation)
      .map(
        (o) =>
          `${o.code.coding?.[0]?.code} ${o.valueQuantity ? `${o.valueQuantity.value} ${o.valueQuantity.code}` : o.component?.map((c) => c.valueQuantity?.value).join('/')}`,
      );
    expect(codes.sort()).to.deep.equal([
      '2339-0 104 mg/dL',
      '29463-7 81.5 kg',
      '8302-2 178 cm',
      '8310-5 36.8 Cel',
      '85354-9 142/91',
      '8867-4 72 /min',
    ]);

    // Amend: the condition resolved.
    await click(el, 'Amend this entry');
    await type(el, 'f-cond-0-status', 'resolved');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.querySelector('[part="history"] ehr-version-history'),
      'history',
      180_000,
    );
    const panel = el.shadowRoot!.querySelector<EhrVersionHistory>('[part="history"] ehr-version-history')!;
    await until(
      () =>
        panel.shadowRoot!.querySelectorAll('[part="version"] [part="badge"][data-state="verified"]')
          .length === 2,
      'both versions verified against the chain',
      60_000,
    );
    const versions = [...panel.shadowRoot!.querySelectorAll('[part="version"]')];
    expect(versions.map((v) => v.getAttribute('data-version'))).to.deep.equal(['2', '1']);
    expect(versions[0]!.querySelector('ins')!.textContent).to.equal('resolved');
    const condition = items.find((i) => i.resourceType === 'Condition')!;
    const onServer = await fhir<Condition>(`Condition/${condition.resourceId}`);
    expect([onServer.meta?.versionId, onServer.clinicalStatus?.coding?.[0]?.code]).to.deep.equal([
      '2',
      'resolved',
    ]);
    await expect(el).to.be.accessible();

    // The same records in the viewer, verified in the browser against the chain.
    // Added after sign-in here; a viewer with an explicit patient-id that was there before sign-in
    // reads again once signed in too (test/integration/stack.test.ts).
    const viewer = document.createElement('ehr-viewer') as EhrViewer;
    viewer.patientId = stack.subject;
    provider.append(viewer);
    await until(
      () =>
        [...viewer.shadowRoot!.querySelectorAll('[part="record"]')].some((r) =>
          r.textContent!.includes('Encounter'),
        ),
      'encounter rows',
      60_000,
    );
    const row = [...viewer.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part="record"]')].find((r) =>
      r.textContent!.includes('Encounter'),
    )!;
    row.click();
    await until(
      () =>
        viewer.shadowRoot!.querySelector('[part="detail"] [part="badge"]')?.getAttribute('data-state') ===
        'verified',
      'verified detail',
      60_000,
    );
    // The newest Encounter is the entry's own (the raw JSON shows the server's id).
    viewer.shadowRoot!.querySelector<HTMLButtonElement>('#tab-raw')!.click();
    await until(() => viewer.shadowRoot!.querySelector('[part="detail"] pre'), 'raw JSON');
    expect(JSON.parse(viewer.shadowRoot!.querySelector('[part="detail"] pre')!.textContent!)).to.deep.include(
      { resourceType: 'Encounter', id: encounter.resourceId },
    );
    // The amended Condition in the viewer: its detail shows both versions, each verified (ehr-version-history).
    // Filter the timeline to conditions (it is virtualized); the newest is the amended one.
    const conditions = [
      ...viewer.shadowRoot!.querySelectorAll<HTMLLabelElement>('[part="filters"] label.check'),
    ].find((l) => l.textContent!.trim().startsWith(ehrViewerStrings.category.conditions))!;
    const count = Number(/\((\d+)\)/.exec(conditions.textContent!)![1]);
    conditions.querySelector('input')!.click();
    await until(
      () => viewer.shadowRoot!.querySelectorAll('[part="record"]').length === count,
      'conditions only',
    );
    // Open each condition until the one with a history (the amended one); others have one version and show none.
    let inViewer: EhrVersionHistory | undefined;
    let previous =
      viewer.shadowRoot!.querySelector<EhrVersionHistory>('[part="detail"] ehr-version-history')?.recordKey ??
      '';
    for (let i = 0; i < count && !inViewer; i++) {
      viewer.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part="record"]')[i]!.click();
      const h = await (async () => {
        let found: EhrVersionHistory | null = null;
        try {
          await until(
            () => {
              found = viewer.shadowRoot!.querySelector<EhrVersionHistory>(
                '[part="detail"] ehr-version-history',
              );
              return found && found.recordKey !== previous && found.settled;
            },
            `history of condition ${i + 1}`,
            60_000,
          );
        } catch (error) {
          const h = viewer.shadowRoot!.querySelector<EhrVersionHistory>(
            '[part="detail"] ehr-version-history',
          );
          throw new Error(
            `${(error as Error).message}; detail: ${viewer.shadowRoot!.querySelector('[part="detail"]')?.textContent?.replace(/\s+/g, ' ').slice(0, 300)}; history: ${h ? `${h.recordKey} settled=${h.settled} defined=${!!customElements.get('ehr-version-history')}` : 'none'}; previous ${previous}`,
          );
        }
        return found! as EhrVersionHistory;
      })();
      previous = h.recordKey;
      if (h.versions.length) inViewer = h;
    }
    assert(inViewer, 'a condition in the viewer shows its version history');
    await until(
      () => inViewer!.shadowRoot!.querySelectorAll('[part="badge"][data-state="verified"]').length === 2,
      'both versions verified in the viewer',
      60_000,
    );
    expect(inViewer.versions.map((v) => v.versionId)).to.deep.equal(['2', '1']);
    await expect(viewer).to.be.accessible();
  });

  it('an amendment overtaken by another (If-Match of version 1, HAPI at 2): the bridge refuses it with 412, the element shows the conflict and keeps the draft, HAPI keeps the other version', async () => {
    const { provider, el, items } = await savedEntry();
    await click(el, 'Amend this entry');

    // The same entry amended elsewhere first (another tab, through the bridge): the Condition is at version 2.
    const conditionId = items.find((i) => i.resourceType === 'Condition')!.resourceId;
    const encounterId = items.find((i) => i.resourceType === 'Encounter')!.resourceId;
    const condition = await fhir<Condition>(`Condition/${conditionId}`);
    const encounter = await fhir<Encounter>(`Encounter/${encounterId}`);
    const theirs: Condition = {
      ...condition,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'inactive' }],
      },
    };
    await amendElsewhere(provider, [encounter, theirs]);
    expect((await fhir<Condition>(`Condition/${conditionId}`)).meta?.versionId).to.equal('2');

    // This amendment still names version 1.
    await type(el, 'f-cond-0-status', 'remission');
    await type(el, 'f-vital-heartRate', '66');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => el.shadowRoot!.querySelector('[part="refusal"]'), 'the refusal', 60_000);
    const refusal = el.shadowRoot!.querySelector<HTMLElement>('[part="refusal"]')!;
    expect(refusal.getAttribute('role')).to.equal('alert');
    expect(refusal.dataset.kind).to.equal('conflict');
    expect(refusal.textContent).to.contain('Someone else amended this entry after you opened it');
    expect(refusal.textContent).to.contain('changed since version 1 (it is now at version 2)');
    // Nothing written: HAPI keeps the other version; the draft stays in the form.
    const onServer = await fhir<Condition>(`Condition/${conditionId}`);
    expect([onServer.meta?.versionId, onServer.clinicalStatus?.coding?.[0]?.code]).to.deep.equal([
      '2',
      'inactive',
    ]);
    expect((await fhir<Encounter>(`Encounter/${encounterId}`)).meta?.versionId).to.equal(
      encounter.meta?.versionId,
    );
    expect(field(el, 'f-cond-0-status').value).to.equal('remission');
    expect(field(el, 'f-vital-heartRate').value).to.equal('66');
    await expect(el).to.be.accessible();
  });

  it('an amendment changes only the fields the doctor edited: extensions, identifiers, extra codings, notes, performers, the narrative and tags another system added stay byte-equal on HAPI, after a conflict (412, load the current version) and without one', async () => {
    const { provider, el, items } = await savedEntry();
    await click(el, 'Amend this entry');

    // Another system enriches the entry's lab result and condition (through the bridge, as a second
    // client would), with elements the form does not know, taken from the Synthea fixtures where
    // they exist there: a SNOMED coding and verification status, category, issued, meta tags.
    const tiny = await loadSyntheaBundle('tiny-clemente-kreiger.json');
    const fixture = (tiny.entry ?? []).map((e) => e.resource! as FhirResource);
    const fixtureCondition = fixture.find((r): r is Condition => r.resourceType === 'Condition')!;
    const fixtureLab = fixture.find(
      (r): r is Observation =>
        r.resourceType === 'Observation' && r.category?.[0]?.coding?.[0]?.code === 'laboratory',
    )!;
    const byId = async <T>(type: string, id: string) => fhir<T>(`${type}/${id}`);
    const observations = await Promise.all(
      items
        .filter((i) => i.resourceType === 'Observation')
        .map((i) => byId<Observation>('Observation', i.resourceId)),
    );
    const lab = observations.find((o) => o.category?.[0]?.coding?.[0]?.code === 'laboratory')!;
    const conditionId = items.find((i) => i.resourceType === 'Condition')!.resourceId;
    const encounterId = items.find((i) => i.resourceType === 'Encounter')!.resourceId;
    const condition = await byId<Condition>('Condition', conditionId);
    const encounter = await byId<Encounter>('Encounter', encounterId);
    const richLab: Observation = {
      ...lab,
      meta: { tag: fixtureLab.meta!.tag! },
      text: {
        status: 'generated',
        div: '<div xmlns="http://www.w3.org/1999/xhtml">Glucose 104 mg/dL (H)</div>',
      },
      extension: [
        { url: 'http://example.org/fhir/StructureDefinition/analyser', valueString: 'Cobas c 311, unit 7' },
      ],
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'LAB-2026-000778' }],
      code: {
        ...lab.code,
        coding: [
          ...lab.code.coding!,
          { system: 'http://snomed.info/sct', code: '33747003', display: 'Glucose measurement, blood' },
        ],
      },
      issued: fixtureLab.issued!,
      interpretation: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' },
          ],
        },
      ],
      note: [{ text: 'Non-fasting sample.' }],
      performer: [{ display: 'Central laboratory' }],
    };
    const richCondition: Condition = {
      ...condition,
      meta: { tag: fixtureLab.meta!.tag! },
      verificationStatus: fixtureCondition.verificationStatus!,
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' },
          ],
        },
      ],
      code: { ...condition.code, coding: fixtureCondition.code!.coding! },
      note: [{ text: 'Confirmed by home readings.' }],
      extension: [{ url: 'http://example.org/fhir/StructureDefinition/reviewed', valueBoolean: true }],
    };
    await amendElsewhere(provider, [encounter, richCondition, richLab]);
    const enrichedLab = await byId<Observation>('Observation', lab.id!);
    const enrichedCondition = await byId<Condition>('Condition', conditionId);
    expect([enrichedLab.meta?.versionId, enrichedCondition.meta?.versionId]).to.deep.equal(['2', '2']);
    const unknownLab = [
      'text',
      'extension',
      'identifier',
      'issued',
      'interpretation',
      'note',
      'performer',
    ] as const;
    const unknownCondition = ['verificationStatus', 'category', 'note', 'extension'] as const;
    const kept = (now: Observation, cond: Condition) => {
      for (const k of unknownLab)
        expect(JSON.stringify(now[k]), `Observation.${k}`).to.equal(JSON.stringify(enrichedLab[k]));
      expect(JSON.stringify(now.meta?.tag), 'Observation.meta.tag').to.equal(
        JSON.stringify(enrichedLab.meta?.tag),
      );
      expect(JSON.stringify(now.code.coding?.[1]), 'the SNOMED coding').to.equal(
        JSON.stringify(enrichedLab.code.coding?.[1]),
      );
      for (const k of unknownCondition)
        expect(JSON.stringify(cond[k]), `Condition.${k}`).to.equal(JSON.stringify(enrichedCondition[k]));
      expect(JSON.stringify(cond.code?.coding), 'Condition.code.coding').to.equal(
        JSON.stringify(enrichedCondition.code?.coding),
      );
    };

    // This doctor's amendment still names version 1: refused (412), then the current version loaded.
    await type(el, 'f-lab-0-value', '131');
    await type(el, 'f-cond-0-status', 'remission');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.querySelector('[part="refusal"][data-kind="conflict"]'),
      'the conflict',
      60_000,
    );
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="load-current"]')!.click();
    await until(() => el.shadowRoot!.querySelector('[part="rebased"]'), 'the current version loaded', 60_000);
    const rebased = el.shadowRoot!.querySelector('[part="rebased"]')!.textContent!;
    expect(rebased).to.contain('Condition version 2');
    expect(rebased).to.contain('Observation version 2');
    expect(field(el, 'f-lab-0-value').value, 'the doctor’s change stays in the form').to.equal('131');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await allAnchored(el, 10, 'the amendment after the conflict anchored');
    const v3 = await byId<Observation>('Observation', lab.id!);
    const c3 = await byId<Condition>('Condition', conditionId);
    expect([v3.meta?.versionId, v3.valueQuantity?.value]).to.deep.equal(['3', 131]);
    expect([c3.meta?.versionId, c3.clinicalStatus?.coding?.[0]?.code]).to.deep.equal(['3', 'remission']);
    kept(v3, c3);

    // Amended again without a conflict (If-Match of version 3): the unknown elements stay again.
    await click(el, 'Amend this entry');
    await type(el, 'f-lab-0-value', '118');
    await type(el, 'f-lab-0-high', '140');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await allAnchored(el, 10, 'the second amendment anchored');
    const v4 = await byId<Observation>('Observation', lab.id!);
    const c4 = await byId<Condition>('Condition', conditionId);
    expect([v4.meta?.versionId, v4.valueQuantity?.value, v4.referenceRange?.[0]?.high?.value]).to.deep.equal([
      '4',
      118,
      140,
    ]);
    expect(c4.meta?.versionId, 'an unchanged Condition gets no new version').to.equal('3');
    kept(v4, c4);
    // Everything but the fields edited is the enriched version, byte for byte.
    const strip = (o: Observation) => {
      const { meta: _m, valueQuantity: _v, referenceRange: _r, ...rest } = o;
      return JSON.stringify(rest);
    };
    expect(strip(v4)).to.equal(strip(enrichedLab));
    await expect(el).to.be.accessible();
  });

  it('refuses a doctor of another hospital with the one true reason (their own hospital’s system, not a grant) and writes nothing on HAPI', async () => {
    const before = await fhir<Bundle>('Encounter?_summary=count');
    const { el } = await filledForm(stack.otherHospitalDoctorKey);
    el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(
      () =>
        /You are a doctor of .+, not of .+: write the entry through .+’s own system\./.test(
          el.shadowRoot!.querySelector('[role="alert"]')?.textContent ?? '',
        ),
      'refusal',
      60_000,
    );
    // No second, contradicting reason (a grant would not help: entries go to the doctor's own hospital).
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).not.to.include('grant');
    await expect(el).to.be.accessible();
    expect((await fhir<Bundle>('Encounter?_summary=count')).total).to.equal(before.total);
  });
});
