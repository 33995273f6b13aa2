/**
 * The form model of `<clinical-entry>`: what the doctor types (a plain JSON draft, saved in Web
 * Storage), its validation (which field is wrong and why), and the FHIR R4 transaction Bundle it
 * becomes — one Encounter, and Condition / MedicationRequest / vital-signs and laboratory
 * Observation / ClinicalImpression resources that all reference it by `urn:uuid`. Codes, units and
 * plausible ranges come from `@ehr-anchor/core/entry-rules`, the same table the bridge checks.
 */
import {
  BLOOD_PRESSURE_PANEL,
  CONDITION_CLINICAL,
  CONDITION_CLINICAL_STATUSES,
  ENCOUNTER_CLASS,
  LAB_TESTS,
  LOINC,
  LOINC_PATTERN,
  OBSERVATION_CATEGORY,
  RXNORM,
  RXNORM_CHOICES,
  UCUM,
  UCUM_PATTERN,
  VITAL_SIGNS,
  type VitalKey,
} from '@ehr-anchor/core/entry-rules';
import type {
  Bundle,
  BundleEntry,
  ClinicalImpression,
  Condition,
  Encounter,
  FhirResource,
  MedicationRequest,
  Observation,
  Quantity,
} from 'fhir/r4';

export type ClinicalStatus = (typeof CONDITION_CLINICAL_STATUSES)[number];

export interface ConditionRow {
  text: string;
  onset: string;
  status: ClinicalStatus;
}
export interface MedicationRow {
  /** RxNorm code from the built-in list, or '' for free text only. */
  rxnorm: string;
  text: string;
  dose: string;
  doseUnit: string;
  frequency: string;
}
export interface LabRow {
  /** LOINC code ('' when the test is only named). */
  loinc: string;
  name: string;
  value: string;
  unit: string;
  low: string;
  high: string;
}

/** Everything the doctor typed; numbers stay strings until validated (an empty field is not 0). */
export interface EntryDraft {
  date: string;
  encounterClass: 'AMB' | 'IMP' | 'EMER';
  conditions: ConditionRow[];
  medications: MedicationRow[];
  vitals: Record<VitalKey, string>;
  labs: LabRow[];
  assessment: string;
  plan: string;
}

export const DOSE_UNITS = ['mg', 'ug', 'g', 'mL', '[iU]'] as const;
/** Frequencies offered, with the FHIR Timing they mean. */
export const FREQUENCIES = {
  'once daily': { frequency: 1, period: 1, periodUnit: 'd' },
  'twice daily': { frequency: 2, period: 1, periodUnit: 'd' },
  'three times daily': { frequency: 3, period: 1, periodUnit: 'd' },
  'every 8 hours': { frequency: 1, period: 8, periodUnit: 'h' },
  'once weekly': { frequency: 1, period: 1, periodUnit: 'wk' },
  'as needed': null,
} as const;
export type Frequency = keyof typeof FREQUENCIES;

export const VITAL_KEYS = Object.keys(VITAL_SIGNS) as VitalKey[];
export { LAB_TESTS, RXNORM_CHOICES, VITAL_SIGNS, CONDITION_CLINICAL_STATUSES };

export function emptyDraft(today = new Date().toISOString().slice(0, 10)): EntryDraft {
  return {
    date: today,
    encounterClass: 'AMB',
    conditions: [],
    medications: [],
    vitals: { systolic: '', diastolic: '', heartRate: '', temperature: '', weight: '', height: '' },
    labs: [],
    assessment: '',
    plan: '',
  };
}
export const emptyCondition = (): ConditionRow => ({ text: '', onset: '', status: 'active' });
export const emptyMedication = (): MedicationRow => ({
  rxnorm: '',
  text: '',
  dose: '',
  doseUnit: 'mg',
  frequency: 'once daily',
});
export const emptyLab = (): LabRow => ({ loinc: '', name: '', value: '', unit: '', low: '', high: '' });

/** Messages of the validation, kept with the element's strings for translation. */
export interface ValidationStrings {
  required: (field: string) => string;
  notANumber: (field: string) => string;
  outOfRange: (field: string, min: number, max: number, unit: string) => string;
  bothPressures: string;
  diastolicHigher: string;
  badLoinc: string;
  badUnit: string;
  rangeInverted: string;
  futureDate: (field: string) => string;
  labels: Record<string, string>;
}

/** Field ids: the `id` of each control in the form, so an error points at exactly one control. */
export const fieldId = {
  date: 'f-date',
  condition: (i: number, k: keyof ConditionRow) => `f-cond-${i}-${k}`,
  medication: (i: number, k: keyof MedicationRow) => `f-med-${i}-${k}`,
  vital: (k: VitalKey) => `f-vital-${k}`,
  lab: (i: number, k: keyof LabRow) => `f-lab-${i}-${k}`,
  assessment: 'f-assessment',
};

const num = (v: string): number | undefined =>
  v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);

/**
 * Every problem of the draft, in form order, as field id → message (empty: ready to submit).
 * An empty optional section is fine; a row that was added must be complete.
 */
export function validateDraft(
  d: EntryDraft,
  s: ValidationStrings,
  today = new Date().toISOString().slice(0, 10),
): Map<string, string> {
  const errors = new Map<string, string>();
  const L = s.labels;
  const need = (id: string, value: string, label: string) => {
    if (value.trim() === '') errors.set(id, s.required(label));
  };
  need(fieldId.date, d.date, L.date!);
  if (d.date && d.date > today) errors.set(fieldId.date, s.futureDate(L.date!));
  d.conditions.forEach((c, i) => {
    need(fieldId.condition(i, 'text'), c.text, L.condition!);
    need(fieldId.condition(i, 'onset'), c.onset, L.onset!);
    if (c.onset && c.onset > today) errors.set(fieldId.condition(i, 'onset'), s.futureDate(L.onset!));
  });
  d.medications.forEach((m, i) => {
    need(fieldId.medication(i, 'text'), m.text, L.drug!);
    const dose = num(m.dose);
    if (m.dose.trim() === '') need(fieldId.medication(i, 'dose'), m.dose, L.dose!);
    else if (dose === undefined || dose <= 0)
      errors.set(fieldId.medication(i, 'dose'), s.notANumber(L.dose!));
  });
  for (const key of VITAL_KEYS) {
    const raw = d.vitals[key];
    if (raw.trim() === '') continue;
    const spec = VITAL_SIGNS[key];
    const value = num(raw);
    if (value === undefined) errors.set(fieldId.vital(key), s.notANumber(L[key]!));
    else if (value < spec.min || value > spec.max)
      errors.set(fieldId.vital(key), s.outOfRange(L[key]!, spec.min, spec.max, spec.unit));
  }
  const sys = d.vitals.systolic.trim();
  const dia = d.vitals.diastolic.trim();
  if (sys && !dia && !errors.has(fieldId.vital('systolic')))
    errors.set(fieldId.vital('diastolic'), s.bothPressures);
  if (dia && !sys && !errors.has(fieldId.vital('diastolic')))
    errors.set(fieldId.vital('systolic'), s.bothPressures);
  if (!errors.has(fieldId.vital('systolic')) && !errors.has(fieldId.vital('diastolic'))) {
    const sv = num(sys);
    const dv = num(dia);
    if (sv !== undefined && dv !== undefined && dv >= sv)
      errors.set(fieldId.vital('diastolic'), s.diastolicHigher);
  }
  d.labs.forEach((l, i) => {
    if (l.loinc.trim() && !LOINC_PATTERN.test(l.loinc.trim()))
      errors.set(fieldId.lab(i, 'loinc'), s.badLoinc);
    need(fieldId.lab(i, 'name'), l.name, L.test!);
    if (l.value.trim() === '') need(fieldId.lab(i, 'value'), l.value, L.value!);
    else if (num(l.value) === undefined) errors.set(fieldId.lab(i, 'value'), s.notANumber(L.value!));
    if (l.unit.trim() === '') need(fieldId.lab(i, 'unit'), l.unit, L.unit!);
    else if (!UCUM_PATTERN.test(l.unit.trim())) errors.set(fieldId.lab(i, 'unit'), s.badUnit);
    for (const k of ['low', 'high'] as const)
      if (l[k].trim() && num(l[k]) === undefined) errors.set(fieldId.lab(i, k), s.notANumber(L[k]!));
    const low = num(l.low);
    const high = num(l.high);
    if (low !== undefined && high !== undefined && low > high)
      errors.set(fieldId.lab(i, 'high'), s.rangeInverted);
  });
  need(fieldId.assessment, d.assessment, L.assessment!);
  return errors;
}

/** What the last submission created: request key (`urn:uuid:…` or section/row) → server resource. */
export interface EntryRef {
  /** Which part of the form the resource came from (`encounter`, `condition-0`, `vital-heartRate`, `lab-1`, `assessment`). */
  part: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  /** The data source's record key (the bridge's outbox seq), for state, history and proof. */
  key: string;
}

const uuid = (): string => `urn:uuid:${crypto.randomUUID()}`;
const ucum = (value: number, unit: string): Quantity => ({ value, unit, system: UCUM, code: unit });

/**
 * Turns the resource the form builds for an amended part into the resource that is PUT: the
 * version the doctor amended with only the form's changed fields replaced (`mergeAmendment` in
 * ./clinical-entry.rebase.ts), so elements the form does not edit are kept.
 */
export type AmendmentMerge = (part: string, built: FhirResource) => FhirResource;

/**
 * The transaction Bundle of a draft. New resources are POSTed with `urn:uuid` fullUrls; with
 * `previous` (an amendment of an entry already written), resources of the same form part are PUT
 * at their id with `If-Match` on the version the doctor amended, so the server makes new versions
 * instead of new resources. With `merge`, what is PUT is that version with the form's changes
 * applied (nothing the form does not show is lost); without it, the resource as the form builds it.
 * `parts[i]` names the form part of `entry[i]`.
 */
export function buildEntryBundle(
  d: EntryDraft,
  patientId: string,
  previous: EntryRef[] = [],
  merge?: AmendmentMerge,
): { bundle: Bundle; parts: string[] } {
  const patient = { reference: `Patient/${patientId}` };
  const prior = new Map(previous.map((p) => [p.part, p]));
  const at = d.date.length === 10 ? `${d.date}T00:00:00Z` : d.date;
  const entries: BundleEntry[] = [];
  const parts: string[] = [];
  const add = (part: string, resource: FhirResource): string => {
    const before = prior.get(part);
    if (before && before.resourceType === resource.resourceType) {
      const built = { ...resource, id: before.resourceId } as FhirResource;
      entries.push({
        resource: merge ? merge(part, built) : built,
        request: {
          method: 'PUT',
          url: `${resource.resourceType}/${before.resourceId}`,
          ifMatch: `W/"${before.versionId}"`,
        },
      });
      parts.push(part);
      return `${resource.resourceType}/${before.resourceId}`;
    }
    const fullUrl = uuid();
    entries.push({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType } });
    parts.push(part);
    return fullUrl;
  };

  const encounterRef = {
    reference: add('encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: ENCOUNTER_CLASS, code: d.encounterClass },
      subject: patient,
      period: { start: at },
    } satisfies Encounter),
  };
  d.conditions.forEach((c, i) => {
    add(`condition-${i}`, {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: CONDITION_CLINICAL, code: c.status }] },
      code: { text: c.text.trim() },
      subject: patient,
      encounter: encounterRef,
      onsetDateTime: c.onset,
      recordedDate: at,
    } satisfies Condition);
  });
  d.medications.forEach((m, i) => {
    const rx = RXNORM_CHOICES.find((r) => r.code === m.rxnorm);
    const dose = Number(m.dose);
    const timing = FREQUENCIES[m.frequency as Frequency];
    add(`medication-${i}`, {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        text: m.text.trim(),
        // A code from outside the built-in list (an amended resource written elsewhere) is kept.
        ...(rx
          ? { coding: [{ system: RXNORM, code: rx.code, display: rx.display }] }
          : m.rxnorm.trim()
            ? { coding: [{ system: RXNORM, code: m.rxnorm.trim() }] }
            : {}),
      },
      subject: patient,
      encounter: encounterRef,
      authoredOn: at,
      dosageInstruction: [
        {
          text: `${m.dose} ${m.doseUnit} ${m.frequency}`,
          ...(timing ? { timing: { repeat: { ...timing } } } : { asNeededBoolean: true }),
          doseAndRate: [{ doseQuantity: ucum(dose, m.doseUnit) }],
        },
      ],
    } as MedicationRequest);
  });
  const vitalCategory = [
    { coding: [{ system: OBSERVATION_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] },
  ];
  const v = d.vitals;
  if (v.systolic.trim() && v.diastolic.trim()) {
    add('vital-bloodPressure', {
      resourceType: 'Observation',
      status: 'final',
      category: vitalCategory,
      code: {
        coding: [{ system: LOINC, code: BLOOD_PRESSURE_PANEL.loinc, display: BLOOD_PRESSURE_PANEL.display }],
        text: 'Blood pressure',
      },
      subject: patient,
      encounter: encounterRef,
      effectiveDateTime: at,
      component: (['systolic', 'diastolic'] as const).map((k) => ({
        code: { coding: [{ system: LOINC, code: VITAL_SIGNS[k].loinc, display: VITAL_SIGNS[k].display }] },
        valueQuantity: ucum(Number(v[k]), VITAL_SIGNS[k].unit),
      })),
    } satisfies Observation);
  }
  for (const key of ['heartRate', 'temperature', 'weight', 'height'] as const) {
    if (!v[key].trim()) continue;
    const spec = VITAL_SIGNS[key];
    add(`vital-${key}`, {
      resourceType: 'Observation',
      status: 'final',
      category: vitalCategory,
      code: { coding: [{ system: LOINC, code: spec.loinc, display: spec.display }], text: spec.display },
      subject: patient,
      encounter: encounterRef,
      effectiveDateTime: at,
      valueQuantity: ucum(Number(v[key]), spec.unit),
    } satisfies Observation);
  }
  d.labs.forEach((l, i) => {
    const unit = l.unit.trim();
    const range = {
      ...(l.low.trim() ? { low: ucum(Number(l.low), unit) } : {}),
      ...(l.high.trim() ? { high: ucum(Number(l.high), unit) } : {}),
    };
    add(`lab-${i}`, {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'laboratory', display: 'Laboratory' }] }],
      code: {
        ...(l.loinc.trim()
          ? { coding: [{ system: LOINC, code: l.loinc.trim(), display: l.name.trim() }] }
          : {}),
        text: l.name.trim(),
      },
      subject: patient,
      encounter: encounterRef,
      effectiveDateTime: at,
      valueQuantity: ucum(Number(l.value), unit),
      ...(Object.keys(range).length ? { referenceRange: [range] } : {}),
    } satisfies Observation);
  });
  add('assessment', {
    resourceType: 'ClinicalImpression',
    status: 'completed',
    subject: patient,
    encounter: encounterRef,
    date: at,
    summary: d.assessment.trim(),
    ...(d.plan.trim() ? { note: [{ text: d.plan.trim() }] } : {}),
  } satisfies ClinicalImpression);
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries }, parts };
}

/** One difference between two versions of a resource (paths in FHIRPath-like dotted form). */
export interface Change {
  path: string;
  before: string | undefined;
  after: string | undefined;
}

function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  else if (value !== undefined) out.set(path, String(value));
}

/** What changed from `before` to `after` (meta and text ignored, like the record's canonical form). */
export function diffResources(before: FhirResource, after: FhirResource): Change[] {
  const strip = (r: FhirResource) => {
    const { meta: _meta, text: _text, ...rest } = r as FhirResource & { meta?: unknown; text?: unknown };
    return rest;
  };
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(strip(before), '', a);
  flatten(strip(after), '', b);
  const changes: Change[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(path) !== b.get(path)) changes.push({ path, before: a.get(path), after: b.get(path) });
  }
  return changes;
}

/** A default lab row for a test from the built-in list. */
export function labFromTest(loinc: string): Partial<LabRow> {
  const t = LAB_TESTS.find((x) => x.loinc === loinc);
  return t ? { loinc: t.loinc, name: t.display, unit: t.unit } : { loinc };
}
