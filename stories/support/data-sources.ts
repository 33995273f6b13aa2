/**
 * Data sources for the stories: the widgets' `FixtureDataSource` over the Synthea fixtures, plus two
 * wrappers that put an element into a state the fixtures alone never reach — `stalled` (calls that
 * never settle: the loading state) and `failing` (calls that reject: the error states). Both are
 * injected faults, named as such; everything else is the real fixture source.
 */
import type { Bundle, DocumentReference, FhirResource, Patient } from 'fhir/r4';
import {
  DataSourceError,
  FixtureDataSource,
  FixtureEntries,
  bundleResources,
  type DataErrorKind,
  type FixtureOptions,
} from '@ehr-anchor/widgets/testing';
import { loadSyntheaBundle, type SyntheaFile } from '@ehr-anchor/testkit/browser-fixtures';

type DataSource = FixtureDataSource;
type Method = {
  [K in keyof DataSource]: DataSource[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof DataSource];

const bundles = new Map<SyntheaFile, Promise<Bundle>>();

/** One Synthea bundle, fetched once per page. */
export function bundle(file: SyntheaFile = 'tiny-clemente-kreiger.json'): Promise<Bundle> {
  let b = bundles.get(file);
  if (!b) bundles.set(file, (b = loadSyntheaBundle(file)));
  return b;
}

/** A fresh fixture data source (each story gets its own: transactions change its state). */
export async function fixture(
  file: SyntheaFile = 'tiny-clemente-kreiger.json',
  options: FixtureOptions = {},
): Promise<FixtureDataSource> {
  return FixtureDataSource.create({ bundle: await bundle(file), ...options });
}

/** The fixture's patient alone: a record with no entries (the empty state). */
export async function emptyFixture(): Promise<FixtureDataSource> {
  const patient = bundleResources(await bundle()).find((r): r is Patient => r.resourceType === 'Patient')!;
  return FixtureDataSource.create({ resources: [patient] });
}

/**
 * A clinic letter as a DocumentReference with an inline text attachment (the Synthea fixtures
 * contain no documents). Synthetic text, no patient data.
 */
export async function withDocument(
  file: SyntheaFile = 'tiny-clemente-kreiger.json',
  options: FixtureOptions = {},
): Promise<FixtureDataSource> {
  const patient = bundleResources(await bundle(file)).find(
    (r): r is Patient => r.resourceType === 'Patient',
  )!;
  const text =
    'Discharge summary (synthetic sample)\n\nFollow-up in two weeks. Continue current medication.\n';
  const doc: DocumentReference = {
    resourceType: 'DocumentReference',
    id: 'story-discharge-summary',
    status: 'current',
    subject: { reference: `Patient/${patient.id}` },
    date: '2024-05-02T10:00:00Z',
    description: 'Discharge summary',
    type: { text: 'Discharge summary' },
    category: [{ text: 'Clinical note' }],
    content: [
      { attachment: { contentType: 'text/plain', title: 'discharge-summary.txt', data: btoa(text) } },
    ],
  };
  return FixtureDataSource.create({
    bundle: await bundle(file),
    extraResources: [doc as FhirResource],
    ...options,
  });
}

function wrap(
  ds: DataSource,
  methods: readonly Method[] | undefined,
  call: (name: Method, run: () => Promise<unknown>) => Promise<unknown>,
): DataSource {
  return new Proxy(ds, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const name = prop as Method;
      if (methods && !methods.includes(name)) return fn.bind(target);
      return (...args: unknown[]) => call(name, () => fn.apply(target, args) as Promise<unknown>);
    },
  });
}

/** Injected fault: the listed calls (default: all) never settle, so the element shows its loading state. */
export function stalled(ds: DataSource, methods?: readonly Method[]): DataSource {
  return wrap(ds, methods, () => new Promise<never>(() => {}));
}

/** Injected fault: the listed calls (default: all) reject with a data-source error of `kind`. */
export function failing(
  ds: DataSource,
  kind: DataErrorKind,
  message: string,
  methods?: readonly Method[],
): DataSource {
  return wrap(ds, methods, () => Promise.reject(new DataSourceError(kind, message)));
}

/**
 * Injected fault: `upload` reports progress up to `fraction` of the file and then never finishes —
 * the "upload in progress" state, frozen so a designer can look at it.
 */
export function uploadFrozenAt(ds: DataSource, fraction: number): DataSource {
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop !== 'upload') {
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (request: { file: File }, onProgress: (p: { loaded: number; total: number }) => void) => {
        const total = request.file.size;
        onProgress({ loaded: 0, total });
        onProgress({ loaded: Math.round(total * fraction), total });
        return new Promise<never>(() => {});
      };
    },
  });
}

/**
 * A fixture data source that also takes clinical entries: the widgets' in-memory entry store
 * (`FixtureEntries`: the bridge's entry rules, FHIR-server-like ids and versions with If-Match,
 * anchoring with real leaves and a real Merkle tree on `anchorPending()`).
 */
export async function withEntries(): Promise<FixtureEntries> {
  const ds = await fixture();
  return new FixtureEntries(ds, ds.patientId);
}

/** Injected fault: entries are accepted by nobody — `submitEntry` never settles (the "saving" state). */
export function entriesStalled(entries: FixtureEntries): FixtureEntries['source'] {
  return new Proxy(entries.source, {
    get: (target, prop, receiver) =>
      prop === 'submitEntry' ? () => new Promise<never>(() => {}) : Reflect.get(target, prop, receiver),
  });
}

/**
 * The view of a patient seen at two hospitals, over one fixture source: every other record is
 * labelled as coming from "Riverside General" or "Hillcrest Clinic" (the labels a source of several
 * hospitals gives its rows; the verdict still comes from the fixture's real proofs and roots), and
 * with `unavailable` the second hospital is reported down — its rows left out, as the real
 * `HospitalNetworkDataSource` does when a bridge does not answer.
 */
export function twoHospitals(ds: DataSource, { unavailable = false } = {}): DataSource {
  const hospitals = [
    { hospital: '0x00000000000000000000000000000000000000a1', name: 'Riverside General' },
    { hospital: '0x00000000000000000000000000000000000000b2', name: 'Hillcrest Clinic' },
  ] as const;
  const originOf = (key: string) => hospitals[[...key].reduce((n, c) => n + c.charCodeAt(0), 0) % 2]!;
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'hospitalStates')
        return () =>
          hospitals.map((h, i) => ({
            ...h,
            state: unavailable && i === 1 ? ('unavailable' as const) : ('available' as const),
          }));
      if (prop === 'listRecords')
        return async (...args: Parameters<DataSource['listRecords']>) =>
          (await target.listRecords(...args))
            .map((r) => ({ ...r, origin: originOf(r.key) }))
            .filter((r) => !unavailable || r.origin !== hospitals[1]);
      if (prop === 'getRecord')
        return async (...args: Parameters<DataSource['getRecord']>) => {
          const d = await target.getRecord(...args);
          return { ...d, summary: { ...d.summary, origin: originOf(d.summary.key) } };
        };
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
