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

export function formatCoding(coding: Coding | undefined): string {
  if (!coding) return '';
  return coding.display ?? coding.code ?? '';
}

export function formatCodeableConcept(concept: CodeableConcept | undefined): string {
  if (!concept) return '';
  return concept.text ?? concept.coding?.map(formatCoding).find((s) => s) ?? '';
}

export function formatQuantity(q: Quantity | undefined): string {
  if (!q || q.value === undefined) return '';
  const unit = q.unit ?? q.code ?? '';
  return `${q.comparator ?? ''}${q.value}${unit ? ` ${unit}` : ''}`;
}

export function formatReferenceRange(range: ObservationReferenceRange | undefined): string {
  if (!range) return '';
  if (range.text) return range.text;
  const low = range.low ? formatQuantity(range.low) : '';
  const high = range.high ? formatQuantity(range.high) : '';
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

/** A FHIR date/dateTime as a locale date; partial dates (YYYY, YYYY-MM) stay as written. */
export function formatDate(value: string | undefined, locale?: string): string {
  if (!value) return '';
  if (/^\d{4}(-\d{2})?$/.test(value)) return value;
  const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
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

/** A short title: the resource's code, type or description. */
export function titleOf(resource: FhirResource): string {
  const r = resource as AnyResource;
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

/** An observation's value with its unit, or a component summary. */
export function valueOf(resource: FhirResource): string | undefined {
  if (resource.resourceType !== 'Observation') return undefined;
  const o: Observation = resource;
  if (o.valueQuantity) return formatQuantity(o.valueQuantity);
  if (o.valueCodeableConcept) return formatCodeableConcept(o.valueCodeableConcept);
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueBoolean !== undefined) return String(o.valueBoolean);
  if (o.valueInteger !== undefined) return String(o.valueInteger);
  if (o.component?.length) {
    return o.component
      .map((c) =>
        `${formatCodeableConcept(c.code)} ${c.valueQuantity ? formatQuantity(c.valueQuantity) : formatCodeableConcept(c.valueCodeableConcept)}`.trim(),
      )
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
