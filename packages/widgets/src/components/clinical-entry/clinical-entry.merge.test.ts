/**
 * Amendments are a change to the version the doctor opened, never a rebuilt resource
 * (`mergeAmendment`): over every Condition, MedicationRequest and vital-sign / laboratory
 * Observation of the Synthea fixtures, opened in the form and saved, the resource PUT is the
 * version opened; with one field changed, exactly that field's elements differ; extensions,
 * identifiers, extra codings, notes, performers, the narrative and meta tags are kept.
 */
import { expect } from '@open-wc/testing';
import type { Bundle, Encounter, FhirResource, Observation } from 'fhir/r4';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { BLOOD_PRESSURE_PANEL, LOINC, OBSERVATION_CATEGORY } from '@ehr-anchor/core/entry-rules';
import {
  VITAL_SIGNS,
  buildEntryBundle,
  diffResources,
  emptyCondition,
  emptyDraft,
  emptyLab,
  emptyMedication,
  validateDraft,
  type EntryDraft,
  type EntryRef,
} from './clinical-entry.model.js';
import {
  amendmentMerge,
  draftField,
  entryFields,
  mergeAmendment,
  setDraftField,
} from './clinical-entry.rebase.js';
import { clinicalEntryStrings } from './clinical-entry.strings.js';

const FIXTURES = [
  'tiny-clemente-kreiger.json',
  'small-louis-erdman.json',
  'medium-dennis-durgan.json',
] as const;

/** A fixture resource as the FHIR server stores it: references by Type/id, a server version. */
function asStored<T extends FhirResource>(r: T, patientId: string): T {
  const json = JSON.stringify(r).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (_, id: string) =>
    id === patientId ? `"Patient/${id}"` : `"Encounter/${id}"`,
  );
  return { ...(JSON.parse(json) as T), meta: { versionId: '3', lastUpdated: '2026-01-01T00:00:00Z' } };
}

/** The form part a fixture resource opens as, or undefined when the form does not edit that kind. */
function partOf(r: FhirResource): string | undefined {
  if (r.resourceType === 'Condition') return 'condition-0';
  if (r.resourceType === 'MedicationRequest') return 'medication-0';
  if (r.resourceType !== 'Observation') return undefined;
  const loinc = r.code.coding?.find((c) => c.system === LOINC)?.code;
  const category = r.category?.[0]?.coding?.find((c) => c.system === OBSERVATION_CATEGORY)?.code;
  if (category === 'vital-signs') {
    if (loinc === BLOOD_PRESSURE_PANEL.loinc) return 'vital-bloodPressure';
    const key = Object.entries(VITAL_SIGNS).find(([, v]) => v.loinc === loinc)?.[0];
    return key && key !== 'systolic' && key !== 'diastolic' ? `vital-${key}` : undefined;
  }
  return category === 'laboratory' && r.valueQuantity ? 'lab-0' : undefined;
}

/** The draft the form shows for `resource` opened as `part` with its Encounter (as after "Amend"). */
function draftOf(part: string, resource: FhirResource, encounter: Encounter): EntryDraft {
  const d = emptyDraft();
  if (part.startsWith('condition-')) d.conditions.push(emptyCondition());
  if (part.startsWith('medication-')) d.medications.push(emptyMedication());
  if (part.startsWith('lab-')) d.labs.push(emptyLab());
  d.assessment = 'Follow-up.';
  for (const [path, value] of [...entryFields('encounter', encounter), ...entryFields(part, resource)])
    setDraftField(d, path, value);
  return d;
}

/** What the form PUTs for `part` when `resource` (and its Encounter) are amended with `draft`. */
function amended(
  part: string,
  resource: FhirResource,
  encounter: Encounter,
  draft: EntryDraft,
): FhirResource {
  const ref = (p: string, r: FhirResource): EntryRef => ({
    part: p,
    resourceType: r.resourceType,
    resourceId: r.id!,
    versionId: r.meta!.versionId!,
    key: `${r.resourceType}/${r.id}`,
  });
  const opened = new Map<string, FhirResource>([
    ['encounter', encounter],
    [part, resource],
  ]);
  const patientId = /^Patient\/(.+)$/.exec(encounter.subject!.reference!)![1]!;
  const { bundle, parts } = buildEntryBundle(
    draft,
    patientId,
    [ref('encounter', encounter), ref(part, resource)],
    amendmentMerge(draft, opened),
  );
  return bundle.entry![parts.indexOf(part)]!.resource! as FhirResource;
}

/** The version opened, without what the server manages (versionId, lastUpdated). */
const withoutServerMeta = (r: FhirResource): FhirResource => {
  const { meta: _meta, ...rest } = r;
  return rest as FhirResource;
};

interface Case {
  part: string;
  resource: FhirResource;
  encounter: Encounter;
}

let cases: Case[] = [];
before(async () => {
  for (const name of FIXTURES) {
    const bundle: Bundle = await loadSyntheaBundle(name);
    const resources = (bundle.entry ?? []).map((e) => e.resource! as FhirResource);
    const patientId = resources.find((r) => r.resourceType === 'Patient')!.id!;
    const encounters = new Map(
      resources
        .filter((r): r is Encounter => r.resourceType === 'Encounter')
        .map((e) => [e.id!, asStored(e, patientId)]),
    );
    for (const r of resources) {
      const part = partOf(r);
      const encounterId = (r as { encounter?: { reference?: string } }).encounter?.reference?.replace(
        'urn:uuid:',
        '',
      );
      const encounter = encounterId ? encounters.get(encounterId) : undefined;
      if (!part || !encounter) continue;
      const resource = asStored(r, patientId);
      // Only what the form can save (its own validation passes on the values read back).
      if (validateDraft(draftOf(part, resource, encounter), clinicalEntryStrings.validation).size) continue;
      cases.push({ part, resource, encounter });
    }
  }
  cases = cases.filter(
    (c) => c.part !== 'vital-bloodPressure' || (c.resource as Observation).component?.length === 2,
  );
});

describe('amendments merge onto the version opened (clinical-entry.rebase.ts mergeAmendment)', () => {
  it('saved with nothing changed in the form, every fixture Condition, MedicationRequest and vital/lab Observation is PUT exactly as opened', () => {
    const kinds = new Set(cases.map((c) => c.part.replace(/-\d+$/, '')));
    expect(cases.length, 'fixture resources the form edits').to.be.greaterThan(150);
    expect([...kinds].sort()).to.deep.equal([
      'condition',
      'lab',
      'medication',
      'vital-height',
      'vital-weight',
    ]);
    for (const c of cases) {
      const put = amended(c.part, c.resource, c.encounter, draftOf(c.part, c.resource, c.encounter));
      expect(put, `${c.resource.resourceType}/${c.resource.id}`).to.deep.equal(withoutServerMeta(c.resource));
      expect(
        amended('encounter', c.encounter, c.encounter, draftOf(c.part, c.resource, c.encounter)),
      ).to.deep.equal(withoutServerMeta(c.encounter));
    }
  });

  it('with one field changed, exactly the elements of that field differ from the version opened, for every fixture resource', () => {
    const change: Record<string, [string, string, string[]]> = {
      condition: ['conditions[0].status', 'resolved', ['clinicalStatus.coding[0].code']],
      medication: [
        'medications[0].dose',
        '999',
        ['dosageInstruction[0].doseAndRate[0].doseQuantity.value', 'dosageInstruction[0].text'],
      ],
      lab: ['labs[0].value', '12345', ['valueQuantity.value']],
      'vital-bloodPressure': ['vitals.systolic', '199', ['component[0].valueQuantity.value']],
      'vital-heartRate': ['vitals.heartRate', '61', ['valueQuantity.value']],
      'vital-height': ['vitals.height', '201', ['valueQuantity.value']],
      'vital-weight': ['vitals.weight', '99', ['valueQuantity.value']],
    };
    for (const c of cases) {
      const [path, wanted, expected] = change[c.part.replace(/-\d+$/, '')]!;
      const draft = draftOf(c.part, c.resource, c.encounter);
      // A change, whatever the fixture holds (a resolved condition becomes remission).
      const value = draftField(draft, path) === wanted ? 'remission' : wanted;
      setDraftField(draft, path, value);
      const put = amended(c.part, c.resource, c.encounter, draft);
      const changes = diffResources(withoutServerMeta(c.resource), put);
      // The dosage text is the form's ("999 mg once daily"): it changes with the dose when it existed.
      const paths = changes.map((x) => x.path).filter((p) => p !== 'dosageInstruction[0].text');
      const blood = c.part === 'vital-bloodPressure';
      expect(paths, `${c.resource.resourceType}/${c.resource.id}`).to.deep.equal(
        expected
          .filter((p) => p !== 'dosageInstruction[0].text')
          .map((p) => (blood ? systolicPath(c, p) : p)),
      );
      expect(changes.find((x) => x.path !== 'dosageInstruction[0].text')!.after).to.equal(value);
    }
  });

  it('keeps extensions, identifiers, other codings, notes, performers, the narrative and meta tags of an Observation whose code, unit and range the doctor changed', () => {
    const lab = cases.find((c) => c.part === 'lab-0')!;
    const opened: Observation = {
      ...(lab.resource as Observation),
      meta: { versionId: '4', lastUpdated: '2026-01-01T00:00:00Z', source: '#abc', tag: [{ code: 'x' }] },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">as written</div>' },
      extension: [{ url: 'http://example.org/fhir/StructureDefinition/device', valueString: 'analyser 7' }],
      identifier: [{ system: 'urn:oid:1.2.3', value: 'LAB-778' }],
      code: {
        ...(lab.resource as Observation).code,
        coding: [
          { system: 'http://snomed.info/sct', code: '271649006', display: 'Systolic' },
          ...((lab.resource as Observation).code.coding ?? []),
        ],
      },
      note: [{ text: 'haemolysed sample' }],
      performer: [{ display: 'Central laboratory' }],
      interpretation: [{ coding: [{ system: 'urn:x', code: 'H' }] }],
      referenceRange: [
        { low: { value: 1, unit: 'mg/dL' }, high: { value: 9, unit: 'mg/dL' }, text: 'adult' },
      ],
    };
    const draft = draftOf('lab-0', opened, lab.encounter);
    setDraftField(draft, 'labs[0].loinc', '2345-7');
    setDraftField(draft, 'labs[0].unit', 'mmol/L');
    setDraftField(draft, 'labs[0].low', '');
    const put = amended('lab-0', opened, lab.encounter, draft) as Observation;
    const kept = [
      'text',
      'extension',
      'identifier',
      'note',
      'performer',
      'interpretation',
      'issued',
    ] as const;
    for (const k of kept) expect(put[k], k).to.deep.equal(opened[k]);
    expect(put.meta, 'server meta left to the server, tags kept').to.deep.equal({ tag: [{ code: 'x' }] });
    expect(put.code.coding!.map((c) => `${c.system} ${c.code}`)).to.deep.equal([
      'http://snomed.info/sct 271649006',
      `${LOINC} 2345-7`,
    ]);
    expect(put.code.text).to.equal(opened.code.text);
    expect(put.valueQuantity).to.deep.equal({ ...opened.valueQuantity, unit: 'mmol/L', code: 'mmol/L' });
    expect(put.referenceRange).to.deep.equal([
      {
        high: { value: 9, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
        text: 'adult',
      },
    ]);
  });

  it('a field the doctor cleared removes only its element, and empty containers go with it', () => {
    const { encounter } = cases[0]!;
    const opened = {
      resourceType: 'ClinicalImpression',
      id: 'ci-1',
      meta: { versionId: '2' },
      status: 'completed',
      subject: encounter.subject,
      encounter: { reference: `Encounter/${encounter.id}` },
      summary: 'Stable.',
      note: [{ text: 'Recheck in 4 weeks.' }],
      extension: [{ url: 'http://example.org/x', valueBoolean: true }],
    } as FhirResource;
    const {
      meta: _m,
      note: _n,
      ...built
    } = { ...opened, summary: 'Improving.' } as FhirResource & {
      note?: unknown;
    };
    const { meta: _m2, note: _n2, ...expected } = opened as FhirResource & { note?: unknown };
    expect(mergeAmendment('assessment', opened, built as FhirResource)).to.deep.equal({
      ...expected,
      summary: 'Improving.',
    });
  });
});

/** The path of the systolic value in a fixture blood-pressure panel (its component order is the source's). */
function systolicPath(c: Case, p: string): string {
  const i = (c.resource as Observation).component!.findIndex((x) =>
    x.code.coding?.some((cd) => cd.code === VITAL_SIGNS.systolic.loinc),
  );
  return p.replace('component[0]', `component[${i}]`);
}
