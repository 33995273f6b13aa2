/**
 * Small FHIR R4 display helpers, kept apart from the components (Medplum's `formatHumanName` &c.).
 * They return plain strings; templates render them as text, so hostile strings stay inert.
 */
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  FhirResource,
  HumanName,
  Identifier,
  Observation,
  ObservationReferenceRange,
  Period,
  Quantity,
  Reference,
} from 'fhir/r4';
import type { RecordCategory } from '../data/data-source.js';
import { formatClinicalNumber, formatUnit, quantityDecimals } from './units.js';

export { formatUnit } from './units.js';

export function formatHumanName(name: HumanName | undefined): string {
  if (!name) return '';
  if (name.text) return name.text;
  return [...(name.prefix ?? []), ...(name.given ?? []), name.family ?? '', ...(name.suffix ?? [])]
    .filter((p) => p)
    .join(' ');
}

/** The official (or first) name of a list. */
export function preferredName(names: HumanName[] | undefined): string {
  if (!names?.length) return '';
  return formatHumanName(names.find((n) => n.use === 'official') ?? names[0]);
}

const SNOMED = 'http://snomed.info/sct';
/** SNOMED CT's semantic tag at the end of a fully specified name: "Viral sinusitis (disorder)". */
const SEMANTIC_TAG =
  / \((?:disorder|finding|procedure|situation|observable entity|regime\/therapy|qualifier value|substance|product|morphologic abnormality|body structure|event|person|record artifact|assessment scale|physical object|environment|specimen)\)$/;

/** A coding's display (SNOMED CT's semantic tag dropped: people read "Prediabetes", not "Prediabetes (finding)"), else its code. */
export function formatCoding(coding: Coding | undefined): string {
  if (!coding) return '';
  const display = coding.display?.trim();
  if (display) return coding.system === SNOMED ? display.replace(SEMANTIC_TAG, '') : display;
  return coding.code ?? '';
}

export function formatCodeableConcept(concept: CodeableConcept | undefined): string {
  if (!concept) return '';
  return concept.text ?? concept.coding?.map(formatCoding).find((s) => s) ?? '';
}

/** Options of {@link formatQuantity}. */
export interface QuantityFormat {
  /** BCP 47 locale of the reader (default: the browser's). */
  locale?: string;
  /** The LOINC code of the observation the quantity belongs to: picks the clinical precision. */
  loinc?: string;
  /** Decimals to show at most, instead of the clinical convention. */
  decimals?: number;
}

/**
 * A quantity as clinicians write it: the value rounded to the precision reported for the
 * observation (LOINC code, else unit), in the reader's locale, with the unit's display form
 * (`36.8 °C`, `142 mmHg`, `6.2%`). Medplum's `formatQuantity`, with UCUM display and precision.
 */
export function formatQuantity(q: Quantity | undefined, options: QuantityFormat = {}): string {
  if (!q || q.value === undefined) return '';
  const ucum = q.system === undefined || q.system === 'http://unitsofmeasure.org' ? q.code : undefined;
  const unitKey = ucum ?? q.unit ?? q.code;
  const decimals = options.decimals ?? quantityDecimals(q.value, options.loinc, unitKey);
  const number = formatClinicalNumber(q.value, decimals, options.locale);
  const unit = formatUnit(ucum ?? q.unit ?? q.code);
  const comparator = q.comparator ? `${q.comparator} ` : '';
  if (!unit) return `${comparator}${number}`;
  return `${comparator}${number}${unit === '%' ? '' : ' '}${unit}`;
}

/** The LOINC code of a concept, when it has one. */
export function loincOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.system === 'http://loinc.org')?.code;
}

export function formatReferenceRange(
  range: ObservationReferenceRange | undefined,
  options: QuantityFormat = {},
): string {
  if (!range) return '';
  if (range.text) return range.text;
  const low = range.low ? formatQuantity(range.low, options) : '';
  const high = range.high ? formatQuantity(range.high, options) : '';
  if (low && high) return `${low} – ${high}`;
  if (low) return `≥ ${low}`;
  if (high) return `≤ ${high}`;
  return '';
}

export function formatReference(ref: Reference | undefined): string {
  if (!ref) return '';
  return ref.display ?? ref.reference ?? '';
}

export function formatIdentifier(id: Identifier): string {
  const type = formatCodeableConcept(id.type) || id.system || '';
  return type ? `${type}: ${id.value ?? ''}` : (id.value ?? '');
}

export function formatContactPoint(c: ContactPoint): string {
  return [c.system, c.use].filter(Boolean).join(' · ') + (c.value ? `: ${c.value}` : '');
}

export function formatAddress(a: Address): string {
  if (a.text) return a.text;
  return [...(a.line ?? []), a.city, a.state, a.postalCode, a.country].filter(Boolean).join(', ');
}

export function formatPeriod(p: Period | undefined, locale?: string): string {
  if (!p) return '';
  const start = p.start ? formatDate(p.start, locale) : '';
  const end = p.end ? formatDate(p.end, locale) : '';
  return end && end !== start ? `${start} – ${end}` : start;
}

/**
 * A FHIR date/dateTime as a date in the reader's locale ("Sep 17, 2018", "17 sept. 2018"); a year
 * stays a year, a year and month is written as such ("Sep 2018").
 */
export function formatDate(value: string | undefined, locale?: string): string {
  if (!value) return '';
  if (/^\d{4}$/.test(value)) return value;
  if (/^\d{4}-\d{2}$/.test(value)) {
    const d = new Date(`${value}-01T00:00:00Z`);
    if (Number.isNaN(d.getTime())) return value;
    return d.toLocaleDateString(locale, { year: 'numeric', month: 'short', timeZone: 'UTC' });
  }
  // A date is a calendar day (no zone); a dateTime is shown on the reader's calendar.
  const dateOnly = value.length === 10;
  const d = new Date(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleDateString(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    ...(dateOnly ? { timeZone: 'UTC' } : {}),
  });
}

/** A moment (ISO date-time or Unix seconds) as a date and time in the reader's locale. */
export function formatDateTime(value: string | number | undefined, locale?: string): string {
  if (value === undefined || value === '') return '';
  const d = new Date(typeof value === 'number' ? value * 1000 : value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Sort key of a FHIR date or dateTime (epoch ms; records without a date sort last). */
export function dateKey(value: string | undefined): number {
  if (!value) return Number.NEGATIVE_INFINITY;
  const t = Date.parse(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

const CATEGORY_OF_TYPE: Record<string, RecordCategory> = {
  Encounter: 'encounters',
  Condition: 'conditions',
  MedicationRequest: 'medications',
  MedicationStatement: 'medications',
  MedicationAdministration: 'medications',
  Observation: 'observations',
  DiagnosticReport: 'observations',
  Procedure: 'procedures',
  Immunization: 'immunizations',
  AllergyIntolerance: 'allergies',
  CarePlan: 'care-plans',
  Goal: 'care-plans',
  DocumentReference: 'documents',
};

/** Timeline category of a resource type. */
export function categoryOf(resourceType: string): RecordCategory {
  return CATEGORY_OF_TYPE[resourceType] ?? 'other';
}

type AnyResource = FhirResource & Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The date a record is about, best effort across resource types. */
export function dateOf(resource: FhirResource): string | undefined {
  const r = resource as AnyResource;
  const period = r.period as Period | undefined;
  const performedPeriod = r.performedPeriod as Period | undefined;
  return (
    str(r.effectiveDateTime) ??
    (r.effectivePeriod as Period | undefined)?.start ??
    str(r.onsetDateTime) ??
    str(r.occurrenceDateTime) ??
    str(r.performedDateTime) ??
    performedPeriod?.start ??
    period?.start ??
    str(r.authoredOn) ??
    str(r.recordedDate) ??
    str(r.issued) ??
    str(r.date) ??
    str(r.created) ??
    (resource.meta?.lastUpdated || undefined)
  );
}

/** A short title: the resource's code, type or description (a document: its description or file title). */
export function titleOf(resource: FhirResource): string {
  const r = resource as AnyResource;
  if (resource.resourceType === 'DocumentReference') {
    const title =
      resource.description?.trim() ||
      resource.content?.map((c) => c.attachment.title?.trim()).find(Boolean) ||
      formatCodeableConcept(resource.type) ||
      formatCodeableConcept(resource.category?.[0]);
    if (title) return title;
  }
  const concept =
    (r.code as CodeableConcept | undefined) ??
    (r.vaccineCode as CodeableConcept | undefined) ??
    (r.medicationCodeableConcept as CodeableConcept | undefined) ??
    (Array.isArray(r.type) ? (r.type[0] as CodeableConcept) : (r.type as CodeableConcept | undefined)) ??
    (Array.isArray(r.category) ? (r.category[0] as CodeableConcept) : undefined) ??
    (r.description && typeof r.description === 'object' ? (r.description as CodeableConcept) : undefined);
  const text =
    formatCodeableConcept(concept) ||
    str(r.title) ||
    (typeof r.description === 'string' ? r.description : undefined) ||
    (resource.resourceType === 'DocumentReference' ? (resource.content?.[0]?.attachment.title ?? '') : '');
  return text || resource.resourceType;
}

const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';

/**
 * An observation's value as clinicians write it (rounded per LOINC code, display units; a blood
 * pressure as "132/85 mmHg"), or a component summary.
 */
export function valueOf(resource: FhirResource, locale?: string): string | undefined {
  if (resource.resourceType !== 'Observation') return undefined;
  const o: Observation = resource;
  const loinc = loincOf(o.code);
  if (o.valueQuantity) return formatQuantity(o.valueQuantity, { locale, ...(loinc ? { loinc } : {}) });
  if (o.valueCodeableConcept) return formatCodeableConcept(o.valueCodeableConcept);
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueBoolean !== undefined) return String(o.valueBoolean);
  if (o.valueInteger !== undefined) return String(o.valueInteger);
  if (o.component?.length) {
    const sys = o.component.find((c) => loincOf(c.code) === SYSTOLIC)?.valueQuantity;
    const dia = o.component.find((c) => loincOf(c.code) === DIASTOLIC)?.valueQuantity;
    if (
      sys?.value !== undefined &&
      dia?.value !== undefined &&
      (sys.code ?? sys.unit) === (dia.code ?? dia.unit)
    ) {
      const n = (q: Quantity, code: string) =>
        formatClinicalNumber(q.value!, quantityDecimals(q.value!, code, q.code ?? q.unit), locale);
      const unit = formatUnit(sys.code ?? sys.unit);
      return `${n(sys, SYSTOLIC)}/${n(dia, DIASTOLIC)}${unit ? ` ${unit}` : ''}`;
    }
    return o.component
      .map((c) => {
        const code = loincOf(c.code);
        const value = c.valueQuantity
          ? formatQuantity(c.valueQuantity, { locale, ...(code ? { loinc: code } : {}) })
          : formatCodeableConcept(c.valueCodeableConcept);
        return `${formatCodeableConcept(c.code)} ${value}`.trim();
      })
      .join('; ');
  }
  return undefined;
}

/** Is an observation value outside its first reference range? */
export function outOfRange(o: Observation): boolean {
  const v = o.valueQuantity?.value;
  const range = o.referenceRange?.[0];
  if (v === undefined || !range) return false;
  return (
    (range.low?.value !== undefined && v < range.low.value) ||
    (range.high?.value !== undefined && v > range.high.value)
  );
}
