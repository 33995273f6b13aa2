/**
 * A clinical entry with every section, as the <clinical-entry> element builds it: one transaction
 * Bundle (Encounter, Condition, MedicationRequest, vital-sign and laboratory Observations,
 * ClinicalImpression) tied together by urn:uuid references. Shared by the entries tests and the
 * interop suite (which validates what HAPI stores from it).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource, Observation } from 'fhir/r4';

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const cat = (code: string) => [
  { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code }] },
];
export const qty = (value: number, unit: string) => ({ value, unit, system: UCUM, code: unit });

/** An entry with every section, as <clinical-entry> builds it (urn:uuid references, POSTs). */
export function fullEntry(patientId: string): Bundle {
  const patient = { reference: `Patient/${patientId}` };
  const enc = `urn:uuid:${randomUUID()}`;
  const encounter = { reference: enc };
  const at = '2026-11-20T10:30:00Z';
  const vital = (loinc: string, display: string, value: number, unit: string): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    category: cat('vital-signs'),
    code: { coding: [{ system: LOINC, code: loinc, display }], text: display },
    subject: patient,
    encounter,
    effectiveDateTime: at,
    valueQuantity: qty(value, unit),
  });
  const resources: FhirResource[] = [
    {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: patient,
      period: { start: at },
    },
    {
      resourceType: 'Condition',
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      code: { text: 'Essential hypertension' },
      subject: patient,
      encounter,
      onsetDateTime: '2025-03-01',
    },
    {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '316049',
            display: 'Hydrochlorothiazide 25 MG',
          },
        ],
        text: 'Hydrochlorothiazide 25 MG',
      },
      subject: patient,
      encounter,
      dosageInstruction: [{ text: '25 mg once daily' }],
    },
    {
      resourceType: 'Observation',
      status: 'final',
      category: cat('vital-signs'),
      code: {
        coding: [
          { system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' },
        ],
      },
      subject: patient,
      encounter,
      effectiveDateTime: at,
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: qty(142, 'mm[Hg]') },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: qty(91, 'mm[Hg]') },
      ],
    },
    vital('8867-4', 'Heart rate', 72, '/min'),
    vital('8310-5', 'Body temperature', 36.8, 'Cel'),
    vital('29463-7', 'Body weight', 81.5, 'kg'),
    vital('8302-2', 'Body height', 178, 'cm'),
    {
      resourceType: 'Observation',
      status: 'final',
      category: cat('laboratory'),
      code: { coding: [{ system: LOINC, code: '2339-0', display: 'Glucose' }] },
      subject: patient,
      encounter,
      effectiveDateTime: at,
      valueQuantity: qty(104, 'mg/dL'),
      referenceRange: [{ low: qty(70, 'mg/dL'), high: qty(99, 'mg/dL') }],
    },
    {
      resourceType: 'ClinicalImpression',
      status: 'completed',
      subject: patient,
      encounter,
      summary: 'Stage 1 hypertension; start a thiazide, recheck in 4 weeks.',
    },
  ];
  const entry: BundleEntry[] = resources.map((resource, i) => ({
    fullUrl: i === 0 ? enc : `urn:uuid:${randomUUID()}`,
    resource,
    request: { method: 'POST', url: resource.resourceType },
  }));
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
