/**
 * The demo portal's server: the built pages (demo/dist), `/config.json` with the stack's URLs and
 * dev accounts, the widgets' one-file bundle at `/vendor/ehr-anchor.js`, and two endpoints that push
 * sample FHIR data: into the stack's FHIR server (HAPI) when it runs, which notifies the bridge
 * through its REST-hook Subscription; else to the bridge directly, the way a FHIR server's REST hook
 * does — the server holds the source's shared secret, the browser never sees it. Loopback only.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Bundle, Observation, Patient } from 'fhir/r4';
import { loadSyntheaIntoHapi } from '@ehr-anchor/testkit';
import type { PortalConfig } from './config.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

export interface DemoServerOptions {
  /** Built pages (vite build output). */
  root: string;
  config: PortalConfig;
  /** `fixtures/fhir/synthea` (the sample bundles). */
  samplesDir: string;
  /** The bridge's ingest endpoint and the dev source's bearer secret. */
  bridgeUrl: string;
  sourceSecret: string;
  /**
   * The stack's FHIR server (HAPI), when it runs: the push endpoints then write into it (the
   * bundle as a transaction, ids kept), and its REST-hook Subscription notifies the bridge — the
   * real path. Without one they push to the bridge's ingest directly, as the FHIR server would.
   */
  fhirBaseUrl?: string | undefined;
  /** The registration desk: each sample's pseudonymous subject. */
  desk?: Array<{ sample: string; subject: string }>;
  /** The widgets' one-file bundle, when built. */
  bundleFile?: string | undefined;
  host?: string;
  port?: number;
}

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/** A new lab result for the sample's patient (synthetic values; a fresh id makes it a new record). */
export function newLabResult(patient: Patient, now = new Date()): Observation {
  const stamp = now.getTime().toString(36);
  return {
    resourceType: 'Observation',
    id: `demo-glucose-${stamp}`,
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'laboratory',
            display: 'laboratory',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }],
      text: 'Glucose',
    },
    subject: { reference: `Patient/${patient.id}` },
    effectiveDateTime: now.toISOString(),
    issued: now.toISOString(),
    valueQuantity: {
      value: 80 + (now.getTime() % 40),
      unit: 'mg/dL',
      system: 'http://unitsofmeasure.org',
      code: 'mg/dL',
    },
    referenceRange: [{ low: { value: 70, unit: 'mg/dL' }, high: { value: 99, unit: 'mg/dL' } }],
  };
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const { root, config, samplesDir, bridgeUrl, sourceSecret } = options;
  const ingest = bridgeUrl.replace(/\/$/, '');

  function sample(name: string | null): Bundle {
    if (!name || !config.samples.includes(name))
      throw Object.assign(new Error('unknown sample'), { status: 400 });
    return JSON.parse(readFileSync(join(samplesDir, name), 'utf8')) as Bundle;
  }

  async function push(path: string, method: string, body: unknown): Promise<void> {
    const response = await fetch(`${ingest}${path}`, {
      method,
      headers: { authorization: `Bearer ${sourceSecret}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200 && response.status !== 202)
      throw new Error(`the bridge answered ${response.status}`);
  }

  /** Writes a resource into the FHIR server (it then notifies the bridge). */
  async function putIntoFhirServer(base: string, resource: Observation): Promise<void> {
    const response = await fetch(`${base}/${resource.resourceType}/${resource.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body: JSON.stringify(resource),
      signal: AbortSignal.timeout(120_000),
    });
    if (!response.ok) throw new Error(`the FHIR server answered ${response.status}`);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
    const bundle = sample(url.searchParams.get('sample'));
    const fhir = options.fhirBaseUrl?.replace(/\/$/, '');
    if (url.pathname === '/api/push/bundle') {
      // PUT mode keeps the bundle's ids (the registration desk's subjects are derived from them),
      // and loading the same bundle again changes nothing on the server, so nothing is pushed twice.
      if (fhir) await loadSyntheaIntoHapi(fhir, [bundle], { mode: 'put' });
      else await push('/fhir', 'POST', bundle);
      return json(res, 202, {
        pushed: bundle.entry?.length ?? 0,
        what: fhir ? 'Synthea bundle, into the FHIR server' : 'Synthea bundle',
      });
    }
    if (url.pathname === '/api/push/lab-result') {
      const patient = bundle.entry
        ?.map((e) => e.resource)
        .find((r): r is Patient => r?.resourceType === 'Patient');
      if (!patient?.id) throw new Error('the sample has no Patient');
      const observation = newLabResult(patient);
      if (fhir) await putIntoFhirServer(fhir, observation);
      else await push(`/fhir/Observation/${observation.id}`, 'PUT', observation);
      return json(res, 202, { pushed: 1, what: fhir ? 'lab result, into the FHIR server' : 'lab result' });
    }
    return json(res, 404, { error: 'no such endpoint' });
  }

  function file(res: ServerResponse, path: string): void {
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    createReadStream(path).pipe(res);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/api/desk') return json(res, 200, options.desk ?? []);
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((error: unknown) =>
        json(res, (error as { status?: number }).status ?? 502, { error: (error as Error).message }),
      );
      return;
    }
    if (url.pathname === '/config.json') return json(res, 200, config);
    if (url.pathname === '/vendor/ehr-anchor.js') {
      if (options.bundleFile && existsSync(options.bundleFile)) return file(res, options.bundleFile);
      return json(res, 404, {
        error: 'the one-file bundle is not built (npm run build -w @ehr-anchor/widgets)',
      });
    }
    let path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root + sep) && path !== root) return json(res, 403, { error: 'forbidden' });
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path) && !extname(path)) path = `${path}.html`;
    if (!existsSync(path)) return json(res, 404, { error: 'not found' });
    file(res, path);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
