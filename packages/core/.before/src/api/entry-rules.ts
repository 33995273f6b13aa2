/**
 * The clinical rules of a doctor's entry (issue 10), without zod or any other dependency, so the
 * `<clinical-entry>` element can load them in the browser (`@ehr-anchor/core/entry-rules`) and
 * refuse exactly what the bridge refuses. The zod schemas of the API are in ./entries.ts.
 *
 * Code systems: LOINC for observations, UCUM for units, RxNorm for drugs (optional), HL7
 * terminology for categories and clinical status (FHIR R4 vital signs profile, §observation-vitalsigns).
 */

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
export const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
export const ENCOUNTER_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** The only resource types an entry may carry. */
export const ENTRY_RESOURCE_TYPES = [
  'Encounter',
  'Condition',
  'MedicationRequest',
  'Observation',
  'ClinicalImpression',
] as const;
export type EntryResourceType = (typeof ENTRY_RESOURCE_TYPES)[number];

export const CONDITION_CLINICAL_STATUSES = [
  'active',
  'recurrence',
  'relapse',
  'inactive',
  'remission',
  'resolved',
] as const;

/** One measured quantity with its LOINC code, UCUM unit and the range a living person can have. */
export interface VitalSpec {
  loinc: string;
  display: string;
  unit: string;
  /** Plausible range (inclusive): outside it the value is a typing mistake, not a finding. */
  min: number;
  max: number;
}

/** Vital signs of the physical examination (FHIR vital signs profile codes and units). */
export const VITAL_SIGNS = {
  systolic: { loinc: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', min: 40, max: 300 },
  diastolic: { loinc: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', min: 20, max: 200 },
  heartRate: { loinc: '8867-4', display: 'Heart rate', unit: '/min', min: 20, max: 300 },
  temperature: { loinc: '8310-5', display: 'Body temperature', unit: 'Cel', min: 25, max: 45 },
  weight: { loinc: '29463-7', display: 'Body weight', unit: 'kg', min: 0.2, max: 500 },
  height: { loinc: '8302-2', display: 'Body height', unit: 'cm', min: 20, max: 280 },
} as const satisfies Record<string, VitalSpec>;
export type VitalKey = keyof typeof VITAL_SIGNS;

/** The blood pressure panel: its own code, systolic and diastolic as components. */
export const BLOOD_PRESSURE_PANEL = {
  loinc: '85354-9',
  display: 'Blood pressure panel with all children optional',
} as const;

/** A small built-in drug list (RxNorm SCDs seen in the Synthea fixtures); free text is always allowed. */
export const RXNORM_CHOICES = [
  { code: '313782', display: 'Acetaminophen 325 MG Oral Tablet' },
  { code: '243670', display: 'Aspirin 81 MG Oral Tablet' },
  { code: '316049', display: 'Hydrochlorothiazide 25 MG' },
  { code: '866414', display: '24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]' },
  { code: '849574', display: 'Naproxen sodium 220 MG Oral Tablet' },
  { code: '1049630', display: 'diphenhydrAMINE Hydrochloride 25 MG Oral Tablet' },
] as const;

/** Common laboratory tests (LOINC + UCUM unit) offered in the lab section; others may be typed in. */
export const LAB_TESTS = [
  { loinc: '2339-0', display: 'Glucose', unit: 'mg/dL' },
  { loinc: '38483-4', display: 'Creatinine', unit: 'mg/dL' },
  { loinc: '2947-0', display: 'Sodium', unit: 'mmol/L' },
  { loinc: '6298-4', display: 'Potassium', unit: 'mmol/L' },
  { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%' },
  { loinc: '2093-3', display: 'Total Cholesterol', unit: 'mg/dL' },
] as const;

/** A LOINC code: digits, dash, check digit. */
export const LOINC_PATTERN = /^\d{1,7}-\d$/;
/**
 * A UCUM unit as people type it in a lab result (`mg/dL`, `mmol/L`, `10*3/uL`, `%`, `mL/min/{1.73_m2}`):
 * a conservative check of the UCUM grammar's characters, not a full parser.
 */
export const UCUM_PATTERN = /^(?:%|[A-Za-z0-9.*/^[\]{}_'-]{1,40})$/;

/** The shape {@link checkEntryBundle} reads (the zod-parsed `EntryBundle` fits it). */
export interface EntryBundleLike {
  entry: {
    fullUrl?: string | undefined;
    resource: { resourceType: string; id?: string | undefined; [key: string]: unknown };
    request: { method: 'POST' | 'PUT'; url: string; ifMatch?: string | undefined };
  }[];
}

// ─────────────────────────── structure rules ───────────────────────────

/** A rule an entry broke: FHIRPath of the element (`Bundle.entry[2].resource.valueQuantity`) and why. */
export interface EntryIssue {
  expression: string;
  code: 'required' | 'value' | 'code-invalid' | 'structure' | 'invariant';
  message: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function codings(concept: unknown): { system?: string; code?: string }[] {
  return arr(obj(concept)?.coding).map((c) => (obj(c) ?? {}) as { system?: string; code?: string });
}
function hasCode(concept: unknown, system: string, code?: string): boolean {
  return codings(concept).some((c) => c.system === system && (code === undefined || c.code === code));
}

const VITAL_BY_LOINC = new Map<string, VitalSpec>(Object.values(VITAL_SIGNS).map((v) => [v.loinc, v]));

function checkQuantity(q: unknown, at: string, spec: VitalSpec | undefined, issues: EntryIssue[]): void {
  const quantity = obj(q);
  if (!quantity) {
    issues.push({ expression: at, code: 'required', message: 'a value with a unit is required' });
    return;
  }
  const value = quantity.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.push({ expression: `${at}.value`, code: 'required', message: 'the value must be a number' });
  }
  if (spec) {
    if (quantity.system !== UCUM || quantity.code !== spec.unit) {
      issues.push({
        expression: `${at}.code`,
        code: 'code-invalid',
        message: `${spec.display} must be in UCUM ${spec.unit}`,
      });
    }
    if (typeof value === 'number' && (value < spec.min || value > spec.max)) {
      issues.push({
        expression: `${at}.value`,
        code: 'value',
        message: `${spec.display} ${value} ${spec.unit} is outside ${spec.min}–${spec.max} ${spec.unit}`,
      });
    }
  } else if (
    quantity.system !== UCUM ||
    typeof quantity.code !== 'string' ||
    !UCUM_PATTERN.test(quantity.code)
  ) {
    issues.push({ expression: `${at}.code`, code: 'code-invalid', message: 'the unit must be a UCUM code' });
  }
}

export interface EntryCheckOptions {
  /** `Patient/<id>` every resource must be about. */
  patientRef: string;
}

/**
 * The clinical structure rules of an entry (beyond its zod shape): one Encounter, every resource
 * about the one patient and part of that Encounter, POSTs with urn:uuid fullUrls and PUTs at their
 * own `Type/id`, and codes and units that make sense — LOINC vital signs in their UCUM units within
 * plausible ranges, the blood pressure panel with its two components, lab results with a UCUM unit,
 * conditions with a clinical status and onset, medications with a drug and a dose. Returns every
 * broken rule (empty: the entry is sound).
 */
export function checkEntryBundle(bundle: EntryBundleLike, options: EntryCheckOptions): EntryIssue[] {
  const issues: EntryIssue[] = [];
  const entries = bundle.entry;
  const encounters = entries
    .map((e, i) => [e, i] as const)
    .filter(([e]) => e.resource.resourceType === 'Encounter');
  if (encounters.length !== 1) {
    issues.push({
      expression: 'Bundle.entry',
      code: 'invariant',
      message: `an entry needs exactly one Encounter (found ${encounters.length})`,
    });
  }
  const [encounterEntry] = encounters[0] ?? [];
  const encounterRefs = new Set<string>();
  if (encounterEntry) {
    if (encounterEntry.fullUrl) encounterRefs.add(encounterEntry.fullUrl);
    if (encounterEntry.resource.id) encounterRefs.add(`Encounter/${encounterEntry.resource.id}`);
  }
  const fullUrls = new Set<string>();
  entries.forEach((entry, i) => {
    const at = `Bundle.entry[${i}]`;
    const r = entry.resource as Json & { resourceType: EntryResourceType; id?: string };
    const type = r.resourceType;
    if (entry.request.method === 'POST') {
      if (!entry.fullUrl || !/^urn:uuid:[0-9a-f-]{36}$/i.test(entry.fullUrl)) {
        issues.push({
          expression: `${at}.fullUrl`,
          code: 'structure',
          message: 'a new resource needs a urn:uuid fullUrl',
        });
      }
      if (entry.request.url !== type)
        issues.push({
          expression: `${at}.request.url`,
          code: 'structure',
          message: `POST url must be ${type}`,
        });
    } else if (!r.id || entry.request.url !== `${type}/${r.id}`) {
      issues.push({
        expression: `${at}.request.url`,
        code: 'structure',
        message: 'an amendment PUTs the resource at its own Type/id',
      });
    }
    if (entry.fullUrl) {
      if (fullUrls.has(entry.fullUrl))
        issues.push({ expression: `${at}.fullUrl`, code: 'structure', message: 'fullUrl used twice' });
      fullUrls.add(entry.fullUrl);
    }
    if (obj(r.subject)?.reference !== options.patientRef) {
      issues.push({
        expression: `${at}.resource.subject`,
        code: 'invariant',
        message: 'every resource must be about the one patient of this entry',
      });
    }
    if (type !== 'Encounter') {
      const ref = str(obj(r.encounter)?.reference);
      if (!ref || !encounterRefs.has(ref)) {
        issues.push({
          expression: `${at}.resource.encounter`,
          code: 'invariant',
          message: "every resource must reference the entry's Encounter",
        });
      }
    }
    switch (type) {
      case 'Encounter':
        if (!str(r.status))
          issues.push({
            expression: `${at}.resource.status`,
            code: 'required',
            message: 'encounter status is required',
          });
        if (!str(obj(r.class)?.code))
          issues.push({
            expression: `${at}.resource.class`,
            code: 'required',
            message: 'encounter class is required',
          });
        if (!str(obj(r.period)?.start))
          issues.push({
            expression: `${at}.resource.period.start`,
            code: 'required',
            message: 'the encounter date is required',
          });
        break;
      case 'Condition': {
        const status = codings(r.clinicalStatus).find((c) => c.system === CONDITION_CLINICAL)?.code;
        if (!status || !(CONDITION_CLINICAL_STATUSES as readonly string[]).includes(status)) {
          issues.push({
            expression: `${at}.resource.clinicalStatus`,
            code: 'code-invalid',
            message: 'clinical status must be a condition-clinical code',
          });
        }
        if (!str(obj(r.code)?.text) && codings(r.code).length === 0)
          issues.push({
            expression: `${at}.resource.code`,
            code: 'required',
            message: 'the condition is required',
          });
        if (!str(r.onsetDateTime))
          issues.push({
            expression: `${at}.resource.onsetDateTime`,
            code: 'required',
            message: 'the onset date is required',
          });
        break;
      }
      case 'MedicationRequest': {
        const med = obj(r.medicationCodeableConcept);
        if (!str(med?.text) && codings(med).length === 0)
          issues.push({
            expression: `${at}.resource.medicationCodeableConcept`,
            code: 'required',
            message: 'the drug is required',
          });
        for (const c of codings(med)) {
          if (c.system !== RXNORM || !/^\d{1,10}$/.test(c.code ?? ''))
            issues.push({
              expression: `${at}.resource.medicationCodeableConcept.coding`,
              code: 'code-invalid',
              message: 'drug codes must be RxNorm',
            });
        }
        if (!str(r.status) || !str(r.intent))
          issues.push({
            expression: `${at}.resource.status`,
            code: 'required',
            message: 'status and intent are required',
          });
        const dosage = obj(arr(r.dosageInstruction)[0]);
        if (!dosage || !str(dosage.text))
          issues.push({
            expression: `${at}.resource.dosageInstruction`,
            code: 'required',
            message: 'dose and frequency are required',
          });
        break;
      }
      case 'Observation': {
        const vital = hasCode(obj(arr(r.category)[0]), OBSERVATION_CATEGORY, 'vital-signs');
        const lab = hasCode(obj(arr(r.category)[0]), OBSERVATION_CATEGORY, 'laboratory');
        if (!vital && !lab)
          issues.push({
            expression: `${at}.resource.category`,
            code: 'code-invalid',
            message: 'an observation is vital-signs or laboratory',
          });
        if (!str(r.status))
          issues.push({
            expression: `${at}.resource.status`,
            code: 'required',
            message: 'observation status is required',
          });
        if (!str(r.effectiveDateTime))
          issues.push({
            expression: `${at}.resource.effectiveDateTime`,
            code: 'required',
            message: 'the observation date is required',
          });
        const loinc = codings(r.code).find((c) => c.system === LOINC)?.code;
        if (vital) {
          if (loinc === BLOOD_PRESSURE_PANEL.loinc) {
            const components = arr(r.component).map((c) => obj(c) ?? {});
            for (const key of ['systolic', 'diastolic'] as const) {
              const spec = VITAL_SIGNS[key];
              const index = components.findIndex((c) => hasCode(c.code, LOINC, spec.loinc));
              if (index < 0)
                issues.push({
                  expression: `${at}.resource.component`,
                  code: 'required',
                  message: `the blood pressure panel needs its ${key} component (${spec.loinc})`,
                });
              else
                checkQuantity(
                  components[index]!.valueQuantity,
                  `${at}.resource.component[${index}].valueQuantity`,
                  spec,
                  issues,
                );
            }
            const s = components.find((c) => hasCode(c.code, LOINC, VITAL_SIGNS.systolic.loinc));
            const d = components.find((c) => hasCode(c.code, LOINC, VITAL_SIGNS.diastolic.loinc));
            const sv = obj(s?.valueQuantity)?.value;
            const dv = obj(d?.valueQuantity)?.value;
            if (typeof sv === 'number' && typeof dv === 'number' && dv >= sv) {
              issues.push({
                expression: `${at}.resource.component`,
                code: 'value',
                message: 'diastolic pressure must be lower than systolic',
              });
            }
          } else {
            const spec = loinc ? VITAL_BY_LOINC.get(loinc) : undefined;
            if (!spec || loinc === VITAL_SIGNS.systolic.loinc || loinc === VITAL_SIGNS.diastolic.loinc) {
              issues.push({
                expression: `${at}.resource.code`,
                code: 'code-invalid',
                message: 'a vital sign needs one of the LOINC codes of the vital signs profile',
              });
            } else {
              checkQuantity(r.valueQuantity, `${at}.resource.valueQuantity`, spec, issues);
            }
          }
        } else if (lab) {
          if (!loinc && !str(obj(r.code)?.text))
            issues.push({
              expression: `${at}.resource.code`,
              code: 'required',
              message: 'the test is required',
            });
          if (loinc && !LOINC_PATTERN.test(loinc))
            issues.push({
              expression: `${at}.resource.code`,
              code: 'code-invalid',
              message: 'not a LOINC code',
            });
          checkQuantity(r.valueQuantity, `${at}.resource.valueQuantity`, undefined, issues);
          const range = obj(arr(r.referenceRange)[0]);
          if (range) {
            const low = obj(range.low)?.value;
            const high = obj(range.high)?.value;
            if (typeof low === 'number' && typeof high === 'number' && low > high) {
              issues.push({
                expression: `${at}.resource.referenceRange[0]`,
                code: 'value',
                message: 'the reference range low is above its high',
              });
            }
          }
        }
        break;
      }
      case 'ClinicalImpression':
        if (!str(r.status))
          issues.push({
            expression: `${at}.resource.status`,
            code: 'required',
            message: 'status is required',
          });
        if (!str(r.summary))
          issues.push({
            expression: `${at}.resource.summary`,
            code: 'required',
            message: 'the assessment is required',
          });
        break;
    }
  });
  return issues;
}
