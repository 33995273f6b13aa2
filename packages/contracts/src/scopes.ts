/**
 * Resource categories a patient grants access to, as bits of the `scope` (uint32) of
 * `EhrRegistry.grantAccess` and `canRead`. The same categories group records in the elements'
 * timeline. Bit positions are part of the on-chain format: append new categories, never renumber.
 */
export const SCOPES = {
  encounters: 1 << 0,
  conditions: 1 << 1,
  medications: 1 << 2,
  /** Observations (labs, vitals, surveys) and the diagnostic reports that group them. */
  observations: 1 << 3,
  procedures: 1 << 4,
  immunizations: 1 << 5,
  allergies: 1 << 6,
  /** Care plans, care teams and goals. */
  carePlans: 1 << 7,
  /** Documents and uploaded attachments (DocumentReference, Binary, Media). */
  documents: 1 << 8,
  /** The Patient resource itself. */
  demographics: 1 << 9,
  imaging: 1 << 10,
  devices: 1 << 11,
  /** Claims, explanations of benefit, coverage. */
  billing: 1 << 12,
  /** Any other patient resource type. */
  other: 1 << 13,
} as const;

export type ScopeCategory = keyof typeof SCOPES;

/** Every category at once (what "full access" means). */
export const ALL_SCOPES: number = Object.values(SCOPES).reduce((mask, bit) => mask | bit, 0);

/** Human-readable label of each category, for consent screens. */
export const SCOPE_LABELS: Record<ScopeCategory, string> = {
  encounters: 'Encounters',
  conditions: 'Conditions',
  medications: 'Medications',
  observations: 'Observations and lab results',
  procedures: 'Procedures',
  immunizations: 'Immunizations',
  allergies: 'Allergies',
  carePlans: 'Care plans',
  documents: 'Documents',
  demographics: 'Demographics',
  imaging: 'Imaging',
  devices: 'Devices',
  billing: 'Claims and billing',
  other: 'Other records',
};

const BY_RESOURCE_TYPE: Record<string, ScopeCategory> = {
  Encounter: 'encounters',
  EpisodeOfCare: 'encounters',
  Condition: 'conditions',
  MedicationRequest: 'medications',
  MedicationStatement: 'medications',
  MedicationAdministration: 'medications',
  MedicationDispense: 'medications',
  Medication: 'medications',
  Observation: 'observations',
  DiagnosticReport: 'observations',
  Specimen: 'observations',
  Procedure: 'procedures',
  Immunization: 'immunizations',
  AllergyIntolerance: 'allergies',
  CarePlan: 'carePlans',
  CareTeam: 'carePlans',
  Goal: 'carePlans',
  DocumentReference: 'documents',
  Binary: 'documents',
  Media: 'documents',
  Patient: 'demographics',
  ImagingStudy: 'imaging',
  Device: 'devices',
  DeviceRequest: 'devices',
  SupplyDelivery: 'devices',
  Claim: 'billing',
  ExplanationOfBenefit: 'billing',
  Coverage: 'billing',
};

/** The category a FHIR resource type belongs to (`other` when unlisted). */
export function categoryOf(resourceType: string): ScopeCategory {
  return BY_RESOURCE_TYPE[resourceType] ?? 'other';
}

/** The scope bit of a FHIR resource type. */
export function scopeOf(resourceType: string): number {
  return SCOPES[categoryOf(resourceType)];
}

/** Bitmask of the given categories. */
export function scopeMask(categories: Iterable<ScopeCategory>): number {
  let mask = 0;
  for (const c of categories) mask |= SCOPES[c];
  return mask;
}

/** The categories set in a bitmask (unknown bits ignored). */
export function scopeCategories(mask: number): ScopeCategory[] {
  return (Object.keys(SCOPES) as ScopeCategory[]).filter((c) => (mask & SCOPES[c]) !== 0);
}

/** `grantAccess` expiry meaning "until revoked" (type(uint64).max). */
export const NO_EXPIRY = 2n ** 64n - 1n;
