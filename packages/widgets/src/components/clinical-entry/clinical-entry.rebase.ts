/**
 * `<clinical-entry>` amendments: what is saved is the amended version with only the form's changed
 * fields replaced (`mergeAmendment`, so extensions, identifiers, extra codings, notes, performers…
 * that the form does not show are kept), and after a conflict "Load the current version" reads the
 * current version of every resource the amendment names and re-applies the doctor's draft on top
 * of it, field by field (a three-way merge against the versions the doctor had opened). Loaded on
 * the first amendment saved or conflict met (a dynamic import), so a portal that only writes new
 * entries never downloads it.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { FhirResource } from 'fhir/r4';
import { DataSourceError, type EhrDataSource } from '../../data/data-source.js';
import { CONDITION_CLINICAL, LOINC, RXNORM } from '@ehr-anchor/core/entry-rules';
import {
  FREQUENCIES,
  VITAL_SIGNS,
  type AmendmentMerge,
  type EntryDraft,
  type EntryRef,
} from './clinical-entry.model.js';
import type { VersionSource } from './clinical-entry.source.js';
import type { ClinicalEntryStrings } from './clinical-entry.strings.js';

/** A draft field by path (`date`, `vitals.heartRate`, `conditions[0].status`) → its text. */
export type EntryFields = Map<string, string>;

const str = (v: number | string | undefined): string => (v === undefined ? '' : String(v));

/**
 * The form fields one resource of an entry fills (`part` as in `EntryRef`, e.g. `condition-0`):
 * the inverse of `buildEntryBundle` for that part, so a version read back from the server becomes
 * values the form can show.
 */
export function entryFields(part: string, resource: FhirResource): EntryFields {
  const f: EntryFields = new Map();
  const row = /^(condition|medication|lab)-(\d+)$/.exec(part);
  if (part === 'encounter' && resource.resourceType === 'Encounter') {
    f.set('date', str(resource.period?.start?.slice(0, 10)));
    f.set('encounterClass', str(resource.class.code));
  } else if (row?.[1] === 'condition' && resource.resourceType === 'Condition') {
    const at = `conditions[${row[2]}]`;
    f.set(`${at}.text`, str(resource.code?.text));
    f.set(`${at}.onset`, str(resource.onsetDateTime));
    f.set(`${at}.status`, str(resource.clinicalStatus?.coding?.[0]?.code));
  } else if (row?.[1] === 'medication' && resource.resourceType === 'MedicationRequest') {
    const at = `medications[${row[2]}]`;
    const dosage = resource.dosageInstruction?.[0];
    const dose = dosage?.doseAndRate?.[0]?.doseQuantity;
    const repeat = dosage?.timing?.repeat;
    const frequency = dosage?.asNeededBoolean
      ? 'as needed'
      : Object.entries(FREQUENCIES).find(
          ([, t]) =>
            t &&
            repeat &&
            t.frequency === repeat.frequency &&
            t.period === repeat.period &&
            t.periodUnit === repeat.periodUnit,
        )?.[0];
    f.set(
      `${at}.rxnorm`,
      str(resource.medicationCodeableConcept?.coding?.find((c) => c.system === RXNORM)?.code),
    );
    f.set(`${at}.text`, str(resource.medicationCodeableConcept?.text));
    f.set(`${at}.dose`, str(dose?.value));
    f.set(`${at}.doseUnit`, str(dose?.unit));
    if (frequency) f.set(`${at}.frequency`, frequency);
  } else if (part === 'vital-bloodPressure' && resource.resourceType === 'Observation') {
    for (const k of ['systolic', 'diastolic'] as const) {
      const c = resource.component?.find((x) =>
        x.code.coding?.some((cd) => cd.code === VITAL_SIGNS[k].loinc),
      );
      f.set(`vitals.${k}`, str(c?.valueQuantity?.value));
    }
  } else if (part.startsWith('vital-') && resource.resourceType === 'Observation') {
    f.set(`vitals.${part.slice('vital-'.length)}`, str(resource.valueQuantity?.value));
  } else if (row?.[1] === 'lab' && resource.resourceType === 'Observation') {
    const at = `labs[${row[2]}]`;
    const range = resource.referenceRange?.[0];
    f.set(`${at}.loinc`, str(resource.code.coding?.find((c) => c.system === LOINC)?.code));
    f.set(`${at}.name`, str(resource.code.text));
    f.set(`${at}.value`, str(resource.valueQuantity?.value));
    f.set(`${at}.unit`, str(resource.valueQuantity?.unit));
    f.set(`${at}.low`, str(range?.low?.value));
    f.set(`${at}.high`, str(range?.high?.value));
  } else if (part === 'assessment' && resource.resourceType === 'ClinicalImpression') {
    f.set('assessment', str(resource.summary));
    f.set('plan', str(resource.note?.[0]?.text));
  }
  return f;
}

/** Reads a field of a draft by path (undefined when the draft has no such row). */
export function draftField(d: EntryDraft, path: string): string | undefined {
  let at: unknown = d;
  for (const step of path.split(/[.[\]]+/).filter(Boolean))
    at = (at as Record<string, unknown> | undefined)?.[step];
  return typeof at === 'string' ? at : undefined;
}

/** Sets a field of a draft by path (the row must exist). */
export function setDraftField(d: EntryDraft, path: string, value: string): void {
  const steps = path.split(/[.[\]]+/).filter(Boolean);
  let at = d as unknown as Record<string, unknown>;
  for (const step of steps.slice(0, -1)) at = at[step] as Record<string, unknown>;
  at[steps.at(-1)!] = value;
}

/** A field the other version changed: `before` (the version the doctor opened) → `after` (the current one). */
export interface FieldChange {
  path: string;
  before: string;
  after: string;
}
/** A field both changed differently: the doctor's value stays in the form, the current version's is offered. */
export interface FieldClash {
  path: string;
  mine: string;
  theirs: string;
}

/**
 * A three-way merge, field by field: `base` = the fields of the versions the doctor amended,
 * `theirs` = the same fields in the current versions. Where only the other version changed a field
 * it goes into the draft; where only the doctor did it stays; where both did (differently) the
 * doctor's value stays and the field is reported, so nothing typed is lost and nothing of the
 * other version is overwritten unseen. Rows the doctor removed stay removed.
 */
export function rebaseDraft(
  mine: EntryDraft,
  base: EntryFields,
  theirs: EntryFields,
): { draft: EntryDraft; applied: FieldChange[]; clashes: FieldClash[] } {
  const draft = structuredClone(mine);
  const applied: FieldChange[] = [];
  const clashes: FieldClash[] = [];
  for (const [path, after] of theirs) {
    const before = base.get(path) ?? '';
    const current = draftField(mine, path);
    if (after === before || current === undefined || current === after) continue;
    if (current === before) {
      setDraftField(draft, path, after);
      applied.push({ path, before, after });
    } else {
      clashes.push({ path, mine: current, theirs: after });
    }
  }
  return { draft, applied, clashes };
}

/** What loading the current version did: the versions read, and the fields applied or in clash. */
export interface Rebased {
  /** "Condition version 2", … for each resource that has a newer version. */
  versions: string[];
  applied: FieldChange[];
  clashes: FieldClash[];
}

/**
 * Reads the current version of each resource in `amending` and rebases `draft` on them. Returns the
 * new draft, the refs to amend from now on (current versions and keys, so If-Match names what the
 * doctor now sees), and which records changed (for their version history).
 */
export async function loadCurrentVersion(
  entries: VersionSource,
  source: EhrDataSource,
  patient: string,
  amending: EntryRef[],
  draft: EntryDraft,
  s: ClinicalEntryStrings,
): Promise<{
  draft: EntryDraft;
  amending: EntryRef[];
  rebased: Rebased;
  changed: { resourceType: string; key: string }[];
}> {
  const newest = await Promise.all(amending.map(async (ref) => (await entries.versions(ref.key))[0]));
  const base: EntryFields = new Map();
  const theirs: EntryFields = new Map();
  const changed = amending.flatMap((ref, i) =>
    newest[i] && newest[i].versionId !== ref.versionId ? [{ ref, current: newest[i] }] : [],
  );
  await Promise.all(
    changed.map(async ({ ref, current }) => {
      const [was, now] = await Promise.all([
        source.getRecord(patient, ref.key),
        source.getRecord(patient, current.key),
      ]);
      for (const [k, v] of entryFields(ref.part, was.resource)) base.set(k, v);
      for (const [k, v] of entryFields(ref.part, now.resource)) theirs.set(k, v);
    }),
  );
  const { draft: next, applied, clashes } = rebaseDraft(draft, base, theirs);
  return {
    draft: next,
    amending: amending.map((ref, i) =>
      newest[i] ? { ...ref, versionId: newest[i].versionId, key: newest[i].key } : ref,
    ),
    rebased: {
      versions: changed.map(({ ref, current }) => `${ref.resourceType} ${s.version(current.versionId)}`),
      applied,
      clashes,
    },
    changed: changed.map(({ ref, current }) => ({ resourceType: ref.resourceType, key: current.key })),
  };
}

/** The form label of a draft field path (`conditions[0].status` → "Condition 1: Clinical status"). */
export function fieldLabel(path: string, s: ClinicalEntryStrings): string {
  const L = s.labels;
  const row = /^(conditions|medications|labs)\[(\d+)\]\.(\w+)$/.exec(path);
  if (!row) return L[path.replace(/^vitals\./, '') as keyof typeof L] ?? path;
  const n = Number(row[2]) + 1;
  const field = row[3]!;
  const label = (text: string) =>
    field === 'text' || field === 'name' ? text : (L[field as keyof typeof L] ?? field);
  if (row[1] === 'conditions') return s.fieldOf(s.conditionN(n), label(L.condition));
  if (row[1] === 'medications') return s.fieldOf(s.medicationN(n), label(L.drug));
  return s.fieldOf(s.labN(n), label(L.test));
}

/** The notice after loading: the other version's changes now in the form, and the fields both changed (each with "Use current value"). */
export function renderRebased(
  r: Rebased,
  s: ClinicalEntryStrings,
  useCurrent: (c: FieldClash) => void,
): TemplateResult {
  const value = (path: string, v: string) =>
    v === '' ? s.empty : path.endsWith('.status') ? (s.statuses[v as keyof typeof s.statuses] ?? v) : v;
  return html`<section part="rebased" role="status" aria-labelledby="ce-rebased-h">
    <p id="ce-rebased-h">${s.rebased(r.versions.join(', '))}</p>
    ${
      r.applied.length
        ? html`<h3>${s.changedElsewhere}</h3>
          <ul>
            ${r.applied.map((c) => html`<li data-path=${c.path}>${fieldLabel(c.path, s)}: <del>${value(c.path, c.before)}</del> → <ins>${value(c.path, c.after)}</ins></li>`)}
          </ul>`
        : nothing
    }
    ${
      r.clashes.length
        ? html`<h3>${s.changedBoth}</h3>
          <ul>
            ${r.clashes.map(
              (c) => html`<li data-path=${c.path}>
                ${fieldLabel(c.path, s)}: ${s.yours} <strong>${value(c.path, c.mine)}</strong>, ${s.current} <strong>${value(c.path, c.theirs)}</strong>
                <button type="button" aria-label=${s.useCurrent(fieldLabel(c.path, s))} @click=${() => useCurrent(c)}>${s.useCurrentShort}</button>
              </li>`,
            )}
          </ul>`
        : nothing
    }
  </section>`;
}

// ───────── amendments as a merge onto the amended version ─────────

type Json = Record<string, unknown>;
type Path = (string | number)[];

function get(o: unknown, path: Path): unknown {
  let at = o;
  for (const k of path) at = (at as Record<string | number, unknown> | undefined)?.[k];
  return at;
}

/** Removes empty objects and arrays left along `path` (FHIR has no empty elements). */
function prune(o: Json, path: Path): void {
  for (let n = path.length - 1; n > 0; n--) {
    const parent = get(o, path.slice(0, n - 1)) as Record<string | number, unknown> | undefined;
    const key = path[n - 1]!;
    const child = parent?.[key];
    const empty = Array.isArray(child)
      ? child.length === 0
      : !!child && typeof child === 'object' && Object.keys(child).length === 0;
    if (!parent || !empty) return;
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  }
}

/** Sets (a copy of) `value` at `path` in `o`, creating containers; `undefined` removes the element. */
function put(o: Json, path: Path, value: unknown): void {
  let at = o as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    if (at[k] === undefined || at[k] === null) {
      if (value === undefined) return;
      at[k] = typeof path[i + 1] === 'number' ? [] : {};
    }
    at = at[k] as Record<string | number, unknown>;
  }
  const last = path.at(-1)!;
  if (value !== undefined) at[last] = structuredClone(value);
  else {
    if (Array.isArray(at)) at.splice(last as number, 1);
    else delete at[last];
    prune(o, path);
  }
}

/** The coding of `system` in the concept at `path` takes the built one's (added first, or removed); other codings stay. */
function putCoding(merged: Json, built: Json, path: Path, system: string): void {
  const from = (get(built, [...path, 'coding']) as { system?: string }[] | undefined)?.find(
    (c) => c.system === system,
  );
  const codings = [...((get(merged, [...path, 'coding']) as { system?: string }[] | undefined) ?? [])];
  const i = codings.findIndex((c) => c.system === system);
  if (from && i >= 0) codings[i] = structuredClone(from);
  else if (from) codings.unshift(structuredClone(from));
  else if (i >= 0) codings.splice(i, 1);
  put(merged, [...path, 'coding'], codings.length ? codings : undefined);
}

/** The element of each resource type that carries the entry's date (besides the Encounter's period). */
const DATE_ELEMENT: Record<string, string> = {
  Condition: 'recordedDate',
  MedicationRequest: 'authoredOn',
  Observation: 'effectiveDateTime',
  ClinicalImpression: 'date',
};

/**
 * Applies one changed form field (`path` as in `entryFields`) of `part` to `merged`: only the
 * elements that field fills are replaced by the form's (`built`); everything else stays.
 */
function applyField(part: string, field: string, merged: Json, built: Json): void {
  const copy = (...path: Path) => put(merged, path, get(built, path));
  const name = field.replace(/^.*[.\]]/, '');
  if (part === 'encounter') {
    if (name === 'date') copy('period', 'start');
    else copy('class');
  } else if (part.startsWith('condition-')) {
    if (name === 'text') copy('code', 'text');
    else if (name === 'onset') copy('onsetDateTime');
    else putCoding(merged, built, ['clinicalStatus'], CONDITION_CLINICAL);
  } else if (part.startsWith('medication-')) {
    if (name === 'rxnorm') putCoding(merged, built, ['medicationCodeableConcept'], RXNORM);
    else if (name === 'text') copy('medicationCodeableConcept', 'text');
    else {
      copy('dosageInstruction', 0, 'text');
      if (name === 'frequency') {
        copy('dosageInstruction', 0, 'timing', 'repeat');
        copy('dosageInstruction', 0, 'asNeededBoolean');
      } else if (name === 'dose') copy('dosageInstruction', 0, 'doseAndRate', 0, 'doseQuantity', 'value');
      else
        for (const k of ['unit', 'system', 'code'])
          copy('dosageInstruction', 0, 'doseAndRate', 0, 'doseQuantity', k);
    }
  } else if (part === 'vital-bloodPressure') {
    const loinc = VITAL_SIGNS[name as 'systolic' | 'diastolic'].loinc;
    const has = (c: unknown) =>
      (get(c, ['code', 'coding']) as { code?: string }[] | undefined)?.some((cd) => cd.code === loinc);
    const from = (built.component as unknown[]).find(has);
    const components = (merged.component ??= []) as Json[];
    const i = components.findIndex(has);
    if (i < 0) components.push(structuredClone(from) as Json);
    else put(merged, ['component', i, 'valueQuantity'], get(from, ['valueQuantity']));
  } else if (part.startsWith('vital-')) {
    copy('valueQuantity', 'value');
  } else if (part.startsWith('lab-')) {
    if (name === 'loinc') putCoding(merged, built, ['code'], LOINC);
    else if (name === 'name') copy('code', 'text');
    else if (name === 'value') copy('valueQuantity', 'value');
    else if (name === 'unit') {
      for (const k of ['unit', 'system', 'code']) copy('valueQuantity', k);
      for (const end of ['low', 'high'])
        if (get(merged, ['referenceRange', 0, end]) && get(built, ['referenceRange', 0, end]))
          for (const k of ['unit', 'system', 'code']) copy('referenceRange', 0, end, k);
    } else copy('referenceRange', 0, name);
  } else if (part === 'assessment') {
    if (name === 'assessment') copy('summary');
    else copy('note', 0, 'text');
  }
}

/**
 * The resource an amendment PUTs for one part: `opened` (the version the doctor amended, the one
 * If-Match names) with only the fields the doctor changed in the form taken from `built` (what the
 * form makes of the draft). A field counts as changed when the form's value differs from the one
 * `entryFields` reads out of `opened`; every element the form does not edit — extensions,
 * identifiers, other codings, notes, performers, the narrative — is kept as it is, so nothing the
 * form does not show is lost. An unchanged part is `opened` as it was (the server makes no new
 * version). Server-managed `meta` (versionId, lastUpdated, source) is left to the server.
 */
export function mergeAmendment(
  part: string,
  opened: FhirResource,
  built: FhirResource,
  dateChanged = false,
): FhirResource {
  const merged = structuredClone(opened) as unknown as Json;
  const b = built as unknown as Json;
  const before = entryFields(part, opened);
  const after = entryFields(part, built);
  for (const field of new Set([...before.keys(), ...after.keys()]))
    if (before.get(field) !== after.get(field)) applyField(part, field, merged, b);
  const dateElement = DATE_ELEMENT[built.resourceType];
  if (dateChanged && dateElement) put(merged, [dateElement], b[dateElement]);
  // Every resource of an entry references its Encounter (a new one when the Encounter is new).
  const encounter = get(b, ['encounter', 'reference']);
  if (encounter !== undefined && get(merged, ['encounter', 'reference']) !== encounter)
    merged.encounter = structuredClone(b.encounter);
  const meta = merged.meta as Json | undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
    delete meta.source;
    if (!Object.keys(meta).length) delete merged.meta;
  }
  merged.id = built.id;
  return merged as unknown as FhirResource;
}

/** The exact versions an amendment edits (those its If-Match names), by form part, from the data source. */
export async function openedVersions(
  source: EhrDataSource,
  patient: string,
  amending: EntryRef[],
  signal?: AbortSignal,
): Promise<Map<string, FhirResource>> {
  const read = await Promise.all(
    amending.map(async (ref) => {
      const detail = await source.getRecord(patient, ref.key, signal);
      // Never build on bytes the bridge itself reports as altered.
      if (detail.bridgeIntegrityError)
        throw new DataSourceError(
          'invalid',
          'the version to amend failed its integrity check; nothing was sent',
        );
      return [ref.part, detail.resource] as const;
    }),
  );
  return new Map(read);
}

/**
 * The `merge` of `buildEntryBundle` for an amendment of `opened` (by part): each amended part is
 * its opened version with the draft's changes (`mergeAmendment`); a changed entry date moves every
 * resource's date element with the Encounter's.
 */
export function amendmentMerge(draft: EntryDraft, opened: Map<string, FhirResource>): AmendmentMerge {
  const encounter = opened.get('encounter');
  const dateChanged = !!encounter && entryFields('encounter', encounter).get('date') !== draft.date;
  return (part, built) => {
    const version = opened.get(part);
    return version && version.resourceType === built.resourceType
      ? mergeAmendment(part, version, built, dateChanged)
      : built;
  };
}
