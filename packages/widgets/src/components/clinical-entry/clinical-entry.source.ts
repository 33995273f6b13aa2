/**
 * What `<clinical-entry>` needs from the outside world, on top of an `EhrDataSource`: submit a
 * transaction Bundle, follow each created version through the pipeline, and list a record's
 * versions. `HttpEntrySource` talks to the bridge (`POST /patients/{subject}/entries`,
 * `GET /records/{seq}/state`, `GET /records/{seq}/versions`) with the SIWE session of an
 * `HttpChainDataSource`; tests and Storybook use `FixtureEntrySource` (./clinical-entry.fixture.ts).
 */
import type { Bundle } from 'fhir/r4';
import { DataSourceError, type DataErrorKind, type EhrDataSource } from '../../data/data-source.js';
import { bridgeFetch } from '../../data/bridge-fetch.js';

/** One resource version an entry created (request order). */
export interface SubmittedItem {
  /** The bundle entry it answers (`urn:uuid:…` or `Type/id`). */
  request: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  /** `Type/id/_history/vid` on the hospital's FHIR server. */
  reference: string;
  /** Record key in the data source (the bridge's outbox seq) for state, history and proof. */
  key: string;
  state: PipelineState;
}

export type PipelineState = 'received' | 'stored' | 'batched' | 'anchored';

export interface EntryProgress {
  state: PipelineState;
  txHash?: string;
}

export interface VersionInfo {
  key: string;
  versionId: string;
  state: PipelineState;
  erased: boolean;
  receivedAt: string;
}

/** A refusal with the FHIR OperationOutcome issues the server gave (expression = FHIRPath in the bundle). */
export class EntryRefusedError extends DataSourceError {
  constructor(
    kind: DataErrorKind,
    message: string,
    readonly issues: { expression?: string; message: string }[],
  ) {
    super(kind, message);
    this.name = 'EntryRefusedError';
  }
}

export interface ClinicalEntrySource {
  submitEntry(patientId: string, bundle: Bundle, signal?: AbortSignal): Promise<SubmittedItem[]>;
  entryProgress(key: string, signal?: AbortSignal): Promise<EntryProgress>;
  /** Every version of the record's resource, newest first. */
  versions(key: string, signal?: AbortSignal): Promise<VersionInfo[]>;
}

export function isEntrySource(value: unknown): value is ClinicalEntrySource {
  const v = value as Partial<ClinicalEntrySource> | undefined;
  return (
    !!v &&
    typeof v.submitEntry === 'function' &&
    typeof v.entryProgress === 'function' &&
    typeof v.versions === 'function'
  );
}

/** The parts of `HttpChainDataSource` the HTTP entry source reuses (bridge URL and session token). */
interface BridgeSession {
  config: { bridgeUrl: string };
  sessionToken: string | undefined;
}

function isBridgeSession(value: unknown): value is BridgeSession {
  const v = value as { config?: { bridgeUrl?: unknown } } | undefined;
  return !!v && typeof v.config?.bridgeUrl === 'string' && 'sessionToken' in v;
}

function kindOf(status: number): DataErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 410) return 'gone';
  // If-Match failed: the amended version is no longer the current one (the bridge answers 412).
  if (status === 409 || status === 412) return 'conflict';
  if (status === 400 || status === 422) return 'invalid';
  return 'unknown';
}

/** The bridge over HTTP, signed in through the `HttpChainDataSource` it is built from. */
export class HttpEntrySource implements ClinicalEntrySource {
  private readonly base: string;

  constructor(private readonly session: BridgeSession) {
    this.base = session.config.bridgeUrl.replace(/\/$/, '');
  }

  private async call<T>(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
    const res = await bridgeFetch(this.base, path, this.session.sessionToken, init, signal);
    if (!res.ok) {
      let issues: { expression?: string; message: string }[] = [];
      try {
        const outcome = (await res.json()) as { issue?: { diagnostics?: string; expression?: string[] }[] };
        issues = (outcome.issue ?? []).map((i) => ({
          message: i.diagnostics ?? `HTTP ${res.status}`,
          ...(i.expression?.[0] ? { expression: i.expression[0] } : {}),
        }));
      } catch {
        // not an OperationOutcome
      }
      throw new EntryRefusedError(kindOf(res.status), issues[0]?.message ?? `HTTP ${res.status}`, issues);
    }
    return (await res.json()) as T;
  }

  async submitEntry(subject: string, bundle: Bundle, signal?: AbortSignal): Promise<SubmittedItem[]> {
    const receipt = await this.call<{ items: (Omit<SubmittedItem, 'key'> & { seq: number })[] }>(
      `/patients/${encodeURIComponent(subject)}/entries`,
      { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) },
      signal,
    );
    return receipt.items.map(({ seq, ...rest }) => ({ ...rest, key: String(seq) }));
  }

  async entryProgress(key: string, signal?: AbortSignal): Promise<EntryProgress> {
    const p = await this.call<{ state: PipelineState; anchor: { txHash: string | null } | null }>(
      `/records/${encodeURIComponent(key)}/state`,
      {},
      signal,
    );
    return { state: p.state, ...(p.anchor?.txHash ? { txHash: p.anchor.txHash } : {}) };
  }

  async versions(key: string, signal?: AbortSignal): Promise<VersionInfo[]> {
    const list = await this.call<{
      versions: {
        seq: number;
        versionId: string;
        state: PipelineState;
        erased: boolean;
        receivedAt: string;
      }[];
    }>(`/records/${encodeURIComponent(key)}/versions`, {}, signal);
    return list.versions.map((v) => ({
      key: String(v.seq),
      versionId: v.versionId,
      state: v.state,
      erased: v.erased,
      receivedAt: v.receivedAt,
    }));
  }
}

const httpSources = new WeakMap<object, HttpEntrySource>();

/**
 * The entry source for a data source: itself when it can take entries, the bridge when it is the
 * HTTP source. The same object every time for the same data source (elements pass it to `Task`
 * arguments, where a new object each render would restart the task forever).
 */
export function entrySourceFor(source: EhrDataSource | undefined): ClinicalEntrySource | undefined {
  if (isEntrySource(source)) return source;
  if (!isBridgeSession(source)) return undefined;
  let http = httpSources.get(source);
  if (!http) httpSources.set(source, (http = new HttpEntrySource(source)));
  return http;
}

/** What `<ehr-version-history>` needs: the versions of a record. */
export type VersionSource = Pick<ClinicalEntrySource, 'versions'>;

/**
 * Where a record's versions come from: the data source itself when it lists them (fixtures, a
 * custom backend), else its entry source (the bridge's `GET /records/{seq}/versions`).
 */
export function versionSourceFor(source: EhrDataSource | undefined): VersionSource | undefined {
  if (typeof (source as Partial<VersionSource> | undefined)?.versions === 'function')
    return source as unknown as VersionSource;
  return entrySourceFor(source);
}
