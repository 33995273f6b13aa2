/**
 * Which Synthea patients each dev hospital holds. With two hospitals, the patients are split between
 * A and B, and some are seen at **both**: their history is split by encounter — the earlier
 * encounters (and whatever hangs off them) stay at A, the later ones go to B — and B's part is
 * rewritten with B's own ids (another Patient id, other resource ids, the references between them
 * moved along), the way two hospitals keep one person under two local records.
 *
 * B's ids are derived from A's (a keyed hash), so loading again PUTs the same resources and
 * changes nothing.
 */
import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry } from 'fhir/r4';

export type DevHospitalKey = 'hospitalA' | 'hospitalB';

/** The sample bundles per hospital: `shared` are seen at both (split by encounter). */
export const HOSPITAL_SAMPLES = {
  /** Seen at A first, then at B: the dev patient account's record (the first one) and one more. */
  shared: ['tiny-clemente-kreiger.json', 'small-louis-erdman.json'],
  hospitalA: ['medium-dennis-durgan.json', 'xlarge-stewart-stanton.json'],
  hospitalB: ['large-laticia-dibbert.json'],
} as const;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** B's id for one of A's: a UUID (version 8, RFC 9562 custom) from a hash of A's. */
export function idAtHospitalB(id: string): string {
  const h = createHash('sha256').update('ehr-anchor dev hospital B id\0').update(id).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function uuidOf(entry: BundleEntry): string | undefined {
  return entry.fullUrl?.startsWith('urn:uuid:') ? entry.fullUrl.slice('urn:uuid:'.length) : undefined;
}

/** The `urn:uuid:` references an entry makes to other entries. */
function referencesOf(entry: BundleEntry): string[] {
  const out: string[] = [];
  for (const m of JSON.stringify(entry.resource).matchAll(/"reference":"urn:uuid:([0-9a-f-]{36})"/g))
    out.push(m[1]!);
  return out;
}

function encounterStart(entry: BundleEntry): string {
  const r = entry.resource as { period?: { start?: string } } | undefined;
  return r?.period?.start ?? '';
}

/**
 * Splits one patient's transaction Bundle by encounter: A keeps the first half of the encounters
 * (by start date), B the rest. Entries follow the encounter they refer to (directly or through
 * another entry, e.g. an ExplanationOfBenefit through its Claim); entries tied to no encounter
 * (the Patient, organizations, practitioners) go to both, and so does anything an entry of a side
 * refers to, so each Bundle resolves on its own. B's Bundle carries B's ids.
 */
export function splitByEncounter(bundle: Bundle): { hospitalA: Bundle; hospitalB: Bundle } {
  const entries = bundle.entry ?? [];
  const byUuid = new Map(entries.flatMap((e) => (uuidOf(e) ? [[uuidOf(e)!, e] as const] : [])));
  const encounters = entries
    .filter((e) => e.resource?.resourceType === 'Encounter')
    .sort((a, b) => encounterStart(a).localeCompare(encounterStart(b)));
  const half = Math.ceil(encounters.length / 2);
  const side = new Map<string, 'A' | 'B'>();
  encounters.forEach((e, i) => side.set(uuidOf(e)!, i < half ? 'A' : 'B'));
  const sideOf = (uuid: string, seen = new Set<string>()): 'A' | 'B' | undefined => {
    if (side.has(uuid)) return side.get(uuid);
    if (seen.has(uuid)) return undefined;
    seen.add(uuid);
    const entry = byUuid.get(uuid);
    for (const ref of entry ? referencesOf(entry) : []) {
      const s = sideOf(ref, seen);
      if (s) return s;
    }
    return undefined;
  };
  const pick = (which: 'A' | 'B') => {
    const keep = new Set<string>();
    const add = (uuid: string) => {
      if (keep.has(uuid) || !byUuid.has(uuid)) return;
      keep.add(uuid);
      for (const ref of referencesOf(byUuid.get(uuid)!)) add(ref);
    };
    for (const e of entries) {
      const uuid = uuidOf(e);
      if (!uuid) continue;
      const s = sideOf(uuid);
      if (s === undefined || s === which) add(uuid);
    }
    return entries.filter((e) => keep.has(uuidOf(e) ?? ''));
  };
  const hospitalA: Bundle = { ...bundle, entry: pick('A') };
  const ids = new Set(byUuid.keys());
  const rewritten = JSON.stringify({ ...bundle, entry: pick('B') }).replace(UUID, (id) =>
    ids.has(id) ? idAtHospitalB(id) : id,
  );
  return { hospitalA, hospitalB: JSON.parse(rewritten) as Bundle };
}

/** The Patient id of a Bundle. */
export function patientIdOf(bundle: Bundle): string {
  const id = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
  if (!id) throw new Error('the bundle has no Patient');
  return id;
}

/**
 * Each hospital's Bundles from the sample files (`load(name)`): one hospital gets everything;
 * two get their own patients plus their part of the shared ones.
 */
export function bundlesFor(
  hospitals: 1 | 2,
  load: (sample: string) => Bundle,
): Record<DevHospitalKey, { sample: string; bundle: Bundle }[]> {
  const all = [...HOSPITAL_SAMPLES.shared, ...HOSPITAL_SAMPLES.hospitalA, ...HOSPITAL_SAMPLES.hospitalB];
  if (hospitals === 1) return { hospitalA: all.map((s) => ({ sample: s, bundle: load(s) })), hospitalB: [] };
  const out: Record<DevHospitalKey, { sample: string; bundle: Bundle }[]> = { hospitalA: [], hospitalB: [] };
  for (const sample of HOSPITAL_SAMPLES.shared) {
    const split = splitByEncounter(load(sample));
    out.hospitalA.push({ sample, bundle: split.hospitalA });
    out.hospitalB.push({ sample, bundle: split.hospitalB });
  }
  for (const sample of HOSPITAL_SAMPLES.hospitalA) out.hospitalA.push({ sample, bundle: load(sample) });
  for (const sample of HOSPITAL_SAMPLES.hospitalB) out.hospitalB.push({ sample, bundle: load(sample) });
  return out;
}
