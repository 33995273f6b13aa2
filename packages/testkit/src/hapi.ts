import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement, Subscription } from 'fhir/r4';
import { startProcess, type ManagedProcess } from './processes.js';
import { repoRoot } from './tools.js';
import { waitFor } from './wait.js';

/**
 * The HAPI FHIR R4 JPA server that `npm run ensure-tools` builds from tools/fhir-server: the
 * Spring Boot jar extracted (thin jar + lib/), which starts faster than the fat jar. Any Spring
 * Boot jar of it works too (override with EHR_HAPI_JAR).
 */
export const hapiJar =
  process.env.EHR_HAPI_JAR ?? join(repoRoot, '.tools', 'fhir-server', 'app', 'hapi-fhir-server.jar');

export interface HapiOptions {
  /** Keep the H2 database in this folder (created if absent); default: in memory, gone on stop. */
  dataDir?: string;
  /** Port to listen on; 0 (the default) lets the OS choose, so test runs never collide. */
  port?: number;
  /** Maximum Java heap in MiB (default 768: the machine's 2 cores and memory are shared). */
  heapMb?: number;
  /** Extra JVM options, placed before `-jar` and after the defaults, so they win (the bench compares some). */
  jvmArgs?: readonly string[];
  /** How long to wait for `GET /fhir/metadata` (default 5 minutes: start-up is CPU-bound and slow on a busy machine). */
  timeoutMs?: number;
}

export interface Hapi {
  /** FHIR base URL, e.g. `http://127.0.0.1:41234/fhir`. */
  readonly baseUrl: string;
  /** Milliseconds from spawning the JVM to the first good `GET /fhir/metadata`. */
  readonly startupMs: number;
  /** Resident set size of the JVM when it first answered (bytes). */
  readonly rssBytes: number;
  readonly process: ManagedProcess;
  /** The JVM's resident set size now (bytes), e.g. after loading data. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** VmRSS of a Linux process in bytes. */
export async function processRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

function javaPath(): string {
  if (process.env.EHR_JAVA) return process.env.EHR_JAVA;
  if (process.env.JAVA_HOME && existsSync(join(process.env.JAVA_HOME, 'bin', 'java'))) {
    return join(process.env.JAVA_HOME, 'bin', 'java');
  }
  return 'java';
}

/**
 * Starts the HAPI FHIR R4 JPA server (tools/fhir-server) on loopback: H2 in memory or in
 * `dataDir`, REST-hook subscriptions on, CORS open. Resolves once `GET /fhir/metadata` answers
 * with an R4 CapabilityStatement.
 */
export async function startHapi(options: HapiOptions = {}): Promise<Hapi> {
  if (!existsSync(hapiJar)) {
    throw new Error(`HAPI FHIR server not built at ${hapiJar}: run \`npm run ensure-tools\` first`);
  }
  const database = options.dataDir
    ? `jdbc:h2:file:${join(options.dataDir, 'hapi')};TRACE_LEVEL_FILE=0`
    : 'jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1';
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const args = [
    `-Xmx${options.heapMb ?? 768}m`,
    // One GC thread and no parallel young collections: the machine has 2 cores for everyone.
    '-XX:+UseSerialGC',
    // C1 only: on 2 busy cores C2's compile threads cost more than they win back; the bench
    // (npm run bench -w packages/testkit) measured loads 2× faster and ~100 MiB less RSS.
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    ...(options.jvmArgs ?? []),
    '-jar',
    hapiJar,
    `--server.port=${options.port ?? 0}`,
    `--spring.datasource.url=${database}`,
  ];
  const started = Date.now();
  const proc = startProcess(javaPath(), args, { cwd: options.dataDir ?? tmpdir() });
  // waitFor retries a throwing condition until its deadline; a JVM that died must fail at once.
  const exited = new Promise<never>((_, reject) => {
    const fail = () =>
      reject(
        new Error(
          `HAPI exited (code ${proc.child.exitCode}) before it was ready: ${proc.output().slice(-4000)}`,
        ),
      );
    if (proc.child.exitCode !== null) fail();
    else proc.child.once('exit', fail);
  });
  exited.catch(() => undefined);
  const untilExit = <T>(waiting: Promise<T>) => Promise.race([waiting, exited]);
  try {
    const port = await untilExit(
      waitFor(
        () => {
          if (proc.child.exitCode !== null) throw new Error(`HAPI exited: ${proc.output().slice(-4000)}`);
          return /ehr-fhir-server: listening on port (\d+)/.exec(proc.output())?.[1];
        },
        { what: 'HAPI FHIR to listen', timeoutMs: options.timeoutMs ?? 300_000, intervalMs: 200 },
      ),
    );
    const baseUrl = `http://127.0.0.1:${port}/fhir`;
    await untilExit(
      waitFor(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`HAPI exited: ${proc.output().slice(-4000)}`);
          const response = await fetch(`${baseUrl}/metadata`, {
            headers: { accept: 'application/fhir+json' },
            signal: AbortSignal.timeout(30_000),
          });
          if (!response.ok) return false;
          const capabilities = (await response.json()) as CapabilityStatement;
          return capabilities.fhirVersion === '4.0.1';
        },
        { what: 'HAPI FHIR to answer /fhir/metadata', timeoutMs: 120_000, intervalMs: 200 },
      ),
    );
    const startupMs = Date.now() - started;
    const rssBytes = await processRssBytes(proc.pid);
    return {
      baseUrl,
      startupMs,
      rssBytes,
      process: proc,
      rss: () => processRssBytes(proc.pid),
      // Spring Boot closes H2 on SIGTERM; give it time so a file database is left clean.
      stop: () => proc.stop(30_000),
    };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/**
 * Resource types a hospital's FHIR server pushes to the bridge: the clinical types of the
 * Synthea fixtures and the bulk set, plus documents. Provenance, AuditEvent and Consent are left
 * out on purpose: the bridge writes those back to the server, and subscribing to them would echo
 * its own writes back to it.
 */
export const CLINICAL_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'Procedure',
  'DiagnosticReport',
  'Immunization',
  'MedicationRequest',
  'MedicationAdministration',
  'AllergyIntolerance',
  'CarePlan',
  'Goal',
  'ImagingStudy',
  'DocumentReference',
  'Claim',
  'ExplanationOfBenefit',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Location',
  'Device',
] as const;

/** HAPI's channel extension that makes a REST-hook subscription deliver deletes (as `DELETE {endpoint}/{type}/{id}`). */
export const HAPI_SEND_DELETES =
  'http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages';

export interface RestHookOptions {
  /** One Subscription per entry, each an R4 criteria string (`Observation?`, `Patient?`); default: every CLINICAL_TYPES type. */
  criteria?: readonly string[];
  /** Also deliver deletes (HAPI extension; default true). */
  sendDeletes?: boolean;
  /** Subscription.reason (default "ehr-anchor bridge"). */
  reason?: string;
  /** How long to wait for HAPI to mark them active (default 60 s). */
  timeoutMs?: number;
}

/** A FHIR JSON request; throws with the status and the start of the body when it fails. */
export async function fhirJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...init.headers },
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${response.status} ${text.slice(0, 1000)}`);
  return JSON.parse(text) as T;
}

/**
 * Creates R4 REST-hook Subscriptions on a FHIR server (one per criteria) with payload
 * `application/fhir+json`, delivering to `endpoint`, and waits until the server reports every
 * one `active` — only then are later writes certain to be pushed.
 *
 * HAPI then delivers each matching create/update as `PUT {endpoint}/{type}/{id}` with the
 * resource as body (its meta.versionId set), `If-Match: W/"{versionId}"` and every `headers`
 * entry (`"Authorization: Bearer …"`) as an HTTP header; with `sendDeletes`, a delete as
 * `DELETE {endpoint}/{type}/{id}` without body. See tools/fhir-server/README.md.
 *
 * Idempotent: a Subscription with the same criteria, endpoint, headers and delete setting that
 * already exists (and is not `off`) is reused, so calling it again after a restart adds nothing.
 *
 * @returns the Subscriptions' ids (`Subscription/1000`, …), in criteria order
 */
export async function createRestHookSubscription(
  fhirBaseUrl: string,
  endpoint: string,
  headers: readonly string[],
  options: RestHookOptions = {},
): Promise<string[]> {
  const criteria = options.criteria ?? CLINICAL_TYPES.map((type) => `${type}?`);
  const sendDeletes = options.sendDeletes ?? true;
  // A server with a persistent database (npm start) may already hold these subscriptions from an
  // earlier run: reuse an identical one instead of adding a second that would push everything twice.
  // no-cache: HAPI otherwise answers a repeated search from its 60 s search-result cache.
  const existing = await fhirJson<Bundle<Subscription>>(
    `${fhirBaseUrl}/Subscription?url=${encodeURIComponent(endpoint)}&_count=1000`,
    { headers: { 'cache-control': 'no-cache' } },
  );
  const sameChannel = (s: Subscription) =>
    s.status !== 'off' &&
    s.channel.type === 'rest-hook' &&
    s.channel.endpoint === endpoint &&
    s.channel.payload === 'application/fhir+json' &&
    JSON.stringify(s.channel.header ?? []) === JSON.stringify(headers) &&
    (s.channel.extension ?? []).some((e) => e.url === HAPI_SEND_DELETES && e.valueBoolean === true) ===
      sendDeletes;
  const ids: string[] = [];
  for (const criterion of criteria) {
    const reusable = existing.entry
      ?.map((e) => e.resource)
      .find((s) => s && s.criteria === criterion && sameChannel(s));
    if (reusable) {
      ids.push(`Subscription/${reusable.id}`);
      continue;
    }
    const subscription: Subscription = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: options.reason ?? 'ehr-anchor bridge',
      criteria: criterion,
      channel: {
        type: 'rest-hook',
        endpoint,
        payload: 'application/fhir+json',
        header: [...headers],
        ...(sendDeletes ? { extension: [{ url: HAPI_SEND_DELETES, valueBoolean: true }] } : {}),
      },
    };
    const created = await fhirJson<Subscription>(`${fhirBaseUrl}/Subscription`, {
      method: 'POST',
      body: JSON.stringify(subscription),
    });
    ids.push(`Subscription/${created.id}`);
  }
  await waitFor(
    async () => {
      for (const id of ids) {
        const current = await fhirJson<Subscription>(`${fhirBaseUrl}/${id}`);
        if (current.status === 'error') throw new Error(`${id} is in error: ${current.error ?? ''}`);
        if (current.status !== 'active') return false;
      }
      return true;
    },
    { what: 'the subscriptions to become active', timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 250 },
  );
  return ids;
}

export interface LoadOptions {
  /**
   * `post` (default) sends the bundles as Synthea wrote them: every entry a POST, so the server
   * assigns ids and a second load creates a second copy. `put` turns each entry into
   * `PUT {type}/{uuid of its urn:uuid fullUrl}`: loading again changes nothing (HAPI keeps the
   * version when the content is the same, and pushes nothing), which suits a persistent `npm start`.
   */
  mode?: 'post' | 'put';
}

export interface LoadedBundle {
  /** The bundle's key (file name) when a Map was given, else its index. */
  name: string;
  /** Entries in the transaction. */
  resources: number;
  /** Wall-clock time of the transaction request. */
  ms: number;
  /** `Type/id/_history/version` of every entry, in entry order (from the transaction-response). */
  locations: string[];
}

export interface LoadReport {
  bundles: LoadedBundle[];
  resources: number;
  ms: number;
}

function asPut(bundle: Bundle): Bundle {
  return {
    ...bundle,
    entry: bundle.entry?.map((entry) => {
      const type = entry.resource?.resourceType;
      const uuid = entry.fullUrl?.startsWith('urn:uuid:')
        ? entry.fullUrl.slice('urn:uuid:'.length)
        : undefined;
      if (!type || !uuid) return entry;
      return { ...entry, request: { method: 'PUT' as const, url: `${type}/${uuid}` } };
    }),
  };
}

/**
 * Loads Synthea transaction Bundles into a FHIR server, one transaction each (HAPI resolves the
 * `urn:uuid` fullUrls and the references between entries), in order.
 */
export async function loadSyntheaIntoHapi(
  fhirBaseUrl: string,
  bundles: Iterable<Bundle> | Map<string, Bundle>,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const named: [string, Bundle][] =
    bundles instanceof Map ? [...bundles.entries()] : [...bundles].map((b, i) => [String(i), b]);
  const started = Date.now();
  const loaded: LoadedBundle[] = [];
  for (const [name, bundle] of named) {
    const body = options.mode === 'put' ? asPut(bundle) : bundle;
    const t0 = Date.now();
    const response = await fhirJson<Bundle>(fhirBaseUrl, { method: 'POST', body: JSON.stringify(body) });
    const locations = (response.entry ?? []).map((e) => e.response?.location ?? '');
    loaded.push({ name, resources: bundle.entry?.length ?? 0, ms: Date.now() - t0, locations });
  }
  return {
    bundles: loaded,
    resources: loaded.reduce((n, b) => n + b.resources, 0),
    ms: Date.now() - started,
  };
}
