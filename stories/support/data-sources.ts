/**
 * Data sources for the stories: the widgets' `FixtureDataSource` over the Synthea fixtures, plus two
 * wrappers that put an element into a state the fixtures alone never reach — `stalled` (calls that
 * never settle: the loading state) and `failing` (calls that reject: the error states). Both are
 * injected faults, named as such; everything else is the real fixture source.
 */
import type { Bundle, DocumentReference, FhirResource, Patient } from 'fhir/r4';
import { FixtureDataSource, bundleResources, loadSyntheaBundle, type FixtureOptions, type SyntheaFile } from '@ehr-anchor/widgets/testing';

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
export async function fixture(file: SyntheaFile = 'tiny-clemente-kreiger.json', options: FixtureOptions = {}): Promise<FixtureDataSource> {
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
export async function withDocument(file: SyntheaFile = 'tiny-clemente-kreiger.json', options: FixtureOptions = {}): Promise<FixtureDataSource> {
  const patient = bundleResources(await bundle(file)).find((r): r is Patient => r.resourceType === 'Patient')!;
  const text = 'Discharge summary (synthetic sample)\n\nFollow-up in two weeks. Continue current medication.\n';
  const doc: DocumentReference = {
    resourceType: 'DocumentReference',
    id: 'story-discharge-summary',
    status: 'current',
    subject: { reference: `Patient/${patient.id}` },
    date: '2024-05-02T10:00:00Z',
    description: 'Discharge summary',
    type: { text: 'Discharge summary' },
    category: [{ text: 'Clinical note' }],
    content: [{ attachment: { contentType: 'text/plain', title: 'discharge-summary.txt', data: btoa(text) } }],
  };
  return FixtureDataSource.create({ bundle: await bundle(file), extraResources: [doc as FhirResource], ...options });
}

function wrap(ds: DataSource, methods: readonly Method[] | undefined, call: (name: Method, run: () => Promise<unknown>) => Promise<unknown>): DataSource {
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

/**
 * The class of errors data sources throw (`DataSourceError`, with a `kind` elements explain). Taken
 * from an error the fixture source itself throws, because `@ehr-anchor/widgets/testing` does not
 * re-export it.
 */
async function dataSourceErrorClass(ds: DataSource): Promise<new (kind: string, message: string) => Error> {
  try {
    await ds.getRecord(ds.patientId, '\u0000no-such-record');
  } catch (error) {
    return (error as Error).constructor as new (kind: string, message: string) => Error;
  }
  throw new Error('the fixture source did not reject an unknown record');
}

/** Injected fault: the listed calls (default: all) reject with a data-source error of `kind`. */
export async function failing(ds: DataSource, kind: string, message: string, methods?: readonly Method[]): Promise<DataSource> {
  const DataSourceError = await dataSourceErrorClass(ds);
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
