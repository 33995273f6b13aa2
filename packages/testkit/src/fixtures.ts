import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, FhirResource } from 'fhir/r4';
import { repoRoot } from './tools.js';

/** `../shared` beside the checkout (CI lays a copy of it there). Override with EHR_SHARED_DIR. */
export const sharedDir = process.env.EHR_SHARED_DIR ?? join(repoRoot, '..', 'shared');

/** The synthetic FHIR fixtures (Synthea bundles and bulk NDJSON). */
export const fixturesDir = join(sharedDir, 'fixtures', 'fhir');

/** The Synthea transaction Bundles, smallest first, keyed by file name. */
export function loadSyntheaBundles(): Map<string, Bundle> {
  const dir = join(fixturesDir, 'synthea');
  const order = ['tiny', 'small', 'medium', 'large', 'xlarge'];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort((a, b) => order.indexOf(a.split('-')[0]!) - order.indexOf(b.split('-')[0]!));
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Bundle]));
}

/** Every resource of the bulk-export NDJSON files (optionally only some types). */
export function loadBulkResources(types?: string[]): FhirResource[] {
  const dir = join(fixturesDir, 'bulk-10');
  const out: FhirResource[] = [];
  for (const file of readdirSync(dir).sort()) {
    const type = file.split('.')[0]!;
    if (!file.endsWith('.ndjson') || file === 'log.ndjson' || (types && !types.includes(type))) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line.trim()) out.push(JSON.parse(line) as FhirResource);
    }
  }
  return out;
}
