import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, FhirResource, Patient } from 'fhir/r4';
import { SYNTHEA_FILES } from './fixture-names.js';
import { repoRoot } from './tools.js';

/** The repository's test data (`fixtures/` at the root): synthetic FHIR and the XSS corpus. See fixtures/README.md. */
export const fixturesDir = join(repoRoot, 'fixtures');

/** The Synthea transaction Bundles, one patient each (`fixtures/fhir/synthea`). */
export const syntheaDir = join(fixturesDir, 'fhir', 'synthea');

/** The bulk-export NDJSON of ten Synthea patients (`fixtures/fhir/bulk-10`). */
export const bulkDir = join(fixturesDir, 'fhir', 'bulk-10');

/** The Synthea transaction Bundles, smallest first, keyed by file name. */
export function loadSyntheaBundles(): Map<string, Bundle> {
  return new Map(
    SYNTHEA_FILES.map((f) => [f, JSON.parse(readFileSync(join(syntheaDir, f), 'utf8')) as Bundle]),
  );
}

/** Every resource of the bulk-export NDJSON files (optionally only some types). */
export function loadBulkResources(types?: string[]): FhirResource[] {
  const out: FhirResource[] = [];
  for (const file of readdirSync(bulkDir).sort()) {
    const type = file.split('.')[0]!;
    if (!file.endsWith('.ndjson') || (types && !types.includes(type))) continue;
    for (const line of readFileSync(join(bulkDir, file), 'utf8').split('\n')) {
      if (line.trim()) out.push(JSON.parse(line) as FhirResource);
    }
  }
  return out;
}

/** Every Patient of the fixtures: the five Synthea bundles' and the bulk set's. */
export function fixturePatients(): Patient[] {
  const out: Patient[] = [];
  for (const bundle of loadSyntheaBundles().values())
    for (const e of bundle.entry ?? [])
      if (e.resource?.resourceType === 'Patient') out.push(e.resource as Patient);
  for (const r of loadBulkResources(['Patient'])) out.push(r as Patient);
  return out;
}
