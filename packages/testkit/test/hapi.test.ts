import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, Bundle, CapabilityStatement, Observation, Patient, Provenance } from 'fhir/r4';
import {
  createRestHookSubscription,
  createSubscriptionTopic,
  createTopicSubscription,
  describeIssue,
  isAlive,
  readTopicNotification,
  repoRoot,
  stopSubscription,
  validateResource,
  loadSyntheaIntoHapi,
  loadSyntheaBundles,
  startHapi,
  waitFor,
  type Hapi,
} from '../src/index.js';

/** One request as the REST-hook receiver saw it. */
interface Delivery {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A small HTTP receiver standing in for the bridge's REST-hook endpoint: it records every
 * request and answers 200, or the status `respond` picks (the injected fault of the redelivery test).
 */
async function startReceiver(): Promise<{
  url: string;
  deliveries: Delivery[];
  setResponder(fn: (d: Delivery) => number): void;
  close(): Promise<void>;
}> {
  const deliveries: Delivery[] = [];
  let respond = (_: Delivery) => 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delivery = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      deliveries.push(delivery);
      const status = respond(delivery);
      // A topic notification arrives as a FHIR transaction POST; HAPI's client wants a Bundle back.
      if (req.method === 'POST' && status < 300) {
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'Bundle', type: 'batch-response', entry: [] }));
      } else res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    setResponder(fn) {
      respond = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function fhir<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...init.headers },
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

describe('HAPI FHIR server (tools/fhir-server)', () => {
  let hapi: Hapi;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const bundles = loadSyntheaBundles();
  const tiny = bundles.get('tiny-clemente-kreiger.json')!;
  const small = bundles.get('small-louis-erdman.json')!;

  before(async () => {
    [hapi, receiver] = await Promise.all([startHapi(), startReceiver()]);
    console.log(
      `HAPI FHIR start-up ${(hapi.startupMs / 1000).toFixed(1)} s, JVM RSS ${(hapi.rssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  });

  after(async () => {
    await receiver?.close();
    await hapi?.stop();
    if (hapi) assert.equal(isAlive(hapi.process.pid), false, 'the JVM is gone after stop()');
  });

  it('answers /metadata as an R4 server that offers REST-hook subscriptions', async () => {
    const { status, body } = await fhir<CapabilityStatement>(`${hapi.baseUrl}/metadata`);
    assert.equal(status, 200);
    assert.equal(body.fhirVersion, '4.0.1');
    assert.equal(body.software?.name, 'HAPI FHIR Server');
    const types = new Set<string>(body.rest?.[0]?.resource?.map((r) => r.type));
    for (const type of ['Patient', 'Observation', 'Subscription', 'Provenance'])
      assert.ok(types.has(type), type);
    const cors = await fetch(`${hapi.baseUrl}/metadata`, { headers: { origin: 'http://127.0.0.1:5173' } });
    assert.equal(
      cors.headers.get('access-control-allow-origin'),
      'http://127.0.0.1:5173',
      'CORS is open for the demo portal',
    );
  });

  it('creates a Patient, reads it, and keeps every version in its history', async () => {
    const patient: Patient = {
      resourceType: 'Patient',
      active: true,
      gender: 'other',
      birthDate: '1970-01-01',
    };
    const created = await fhir<Patient>(`${hapi.baseUrl}/Patient`, {
      method: 'POST',
      body: JSON.stringify(patient),
    });
    assert.equal(created.status, 201);
    const id = created.body.id!;
    assert.equal(created.body.meta?.versionId, '1');

    const read = await fhir<Patient>(`${hapi.baseUrl}/Patient/${id}`);
    assert.equal(read.body.birthDate, '1970-01-01');

    const updated = await fhir<Patient>(`${hapi.baseUrl}/Patient/${id}`, {
      method: 'PUT',
      body: JSON.stringify({ ...read.body, active: false }),
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.meta?.versionId, '2');

    const history = await fhir<Bundle<Patient>>(`${hapi.baseUrl}/Patient/${id}/_history`);
    assert.deepEqual(
      history.body.entry?.map((e) => e.resource?.meta?.versionId),
      ['2', '1'],
    );
    const v1 = await fhir<Patient>(`${hapi.baseUrl}/Patient/${id}/_history/1`);
    assert.equal(v1.body.active, true, 'version 1 is still readable as it was');
  });

  it('loads the tiny Synthea bundle as one transaction, resolving its urn:uuid references', async () => {
    const report = await loadSyntheaIntoHapi(hapi.baseUrl, [tiny]);
    console.log(`tiny bundle (${report.resources} resources) loaded in ${report.ms} ms`);
    assert.equal(report.resources, 70);
    const locations = report.bundles[0]!.locations;
    assert.equal(locations.length, 70);
    assert.ok(
      locations.every((l) => /^[A-Za-z]+\/[^/]+\/_history\/1$/.test(l)),
      'every entry created at version 1',
    );
    const patientId = locations.find((l) => l.startsWith('Patient/'))!.split('/')[1];
    const observations = await fhir<Bundle<Observation>>(
      `${hapi.baseUrl}/Observation?subject=Patient/${patientId}&_count=100`,
    );
    assert.equal(
      observations.body.entry?.length,
      48,
      'all 48 Observations point at the server-assigned Patient id',
    );
  });

  it('loads idempotently in put mode: a second load creates no new versions', async () => {
    const first = await loadSyntheaIntoHapi(hapi.baseUrl, [tiny], { mode: 'put' });
    const second = await loadSyntheaIntoHapi(hapi.baseUrl, [tiny], { mode: 'put' });
    assert.deepEqual(second.bundles[0]!.locations, first.bundles[0]!.locations);
    assert.ok(second.bundles[0]!.locations.every((l) => l.endsWith('/_history/1')));
  });

  it('keeps the version in a Provenance target reference and finds it by target (the bridge writes these back)', async () => {
    const observation = await fhir<Observation>(`${hapi.baseUrl}/Observation`, {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'anchored reading' },
      }),
    });
    const target = `Observation/${observation.body.id}/_history/1`;
    const provenance: Provenance = {
      resourceType: 'Provenance',
      target: [{ reference: target }],
      recorded: new Date().toISOString(),
      agent: [{ who: { display: 'ehr-anchor bridge' } }],
    };
    const created = await fhir<Provenance>(`${hapi.baseUrl}/Provenance`, {
      method: 'POST',
      body: JSON.stringify(provenance),
    });
    assert.equal(created.status, 201);
    const read = await fhir<Provenance>(`${hapi.baseUrl}/Provenance/${created.body.id}`);
    assert.equal(read.body.target[0]?.reference, target);
    const found = await fhir<Bundle<Provenance>>(
      `${hapi.baseUrl}/Provenance?target=Observation/${observation.body.id}`,
    );
    assert.deepEqual(
      found.body.entry?.map((e) => e.resource?.id),
      [created.body.id],
    );
  });

  it('pushes creates, updates and deletes to a REST-hook endpoint with the channel header', async () => {
    const [subscription] = await createRestHookSubscription(
      hapi.baseUrl,
      `${receiver.url}/hook`,
      ['Authorization: Bearer test-secret'],
      {
        criteria: ['Observation?'],
      },
    );
    assert.match(subscription!, /^Subscription\/\d+$/);
    const again = await createRestHookSubscription(
      hapi.baseUrl,
      `${receiver.url}/hook`,
      ['Authorization: Bearer test-secret'],
      {
        criteria: ['Observation?'],
      },
    );
    assert.deepEqual(
      again,
      [subscription],
      'the same subscription requested twice is reused, not duplicated',
    );

    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'test reading' },
    };
    const created = await fhir<Observation>(`${hapi.baseUrl}/Observation`, {
      method: 'POST',
      body: JSON.stringify(observation),
    });
    const id = created.body.id!;
    await fhir(`${hapi.baseUrl}/Patient`, {
      method: 'POST',
      body: JSON.stringify({ resourceType: 'Patient' }),
    });

    const put1 = await waitFor(() => receiver.deliveries.find((d) => d.path === `/hook/Observation/${id}`), {
      what: 'the create to be pushed',
    });
    assert.equal(put1.method, 'PUT');
    assert.equal(put1.headers.authorization, 'Bearer test-secret');
    assert.match(put1.headers['content-type'] ?? '', /^application\/fhir\+json/);
    assert.equal(put1.headers['if-match'], 'W/"1"');
    const pushed = JSON.parse(put1.body) as Observation;
    assert.equal(pushed.id, id);
    assert.equal(pushed.meta?.versionId, '1');
    assert.equal(pushed.code.text, 'test reading');

    await fhir(`${hapi.baseUrl}/Observation/${id}`, {
      method: 'PUT',
      body: JSON.stringify({ ...created.body, status: 'amended' }),
    });
    const put2 = await waitFor(
      () =>
        receiver.deliveries.find(
          (d) => d.path === `/hook/Observation/${id}` && d.headers['if-match'] === 'W/"2"',
        ),
      {
        what: 'the update to be pushed',
      },
    );
    const v2 = JSON.parse(put2.body) as Observation;
    assert.equal(v2.status, 'amended');

    // The same content again is no new version, so HAPI pushes nothing for it: a marker write made
    // afterwards arrives while the delivery count for this resource stays at two.
    const unchanged = await fhir<Observation>(`${hapi.baseUrl}/Observation/${id}`, {
      method: 'PUT',
      body: JSON.stringify(v2),
    });
    assert.equal(unchanged.body.meta?.versionId, '2');
    const marker = await fhir<Observation>(`${hapi.baseUrl}/Observation`, {
      method: 'POST',
      body: JSON.stringify(observation),
    });
    await waitFor(() => receiver.deliveries.some((d) => d.path === `/hook/Observation/${marker.body.id}`), {
      what: 'the marker',
    });
    assert.equal(receiver.deliveries.filter((d) => d.path === `/hook/Observation/${id}`).length, 2);

    // $trigger-subscription replays the current version on demand (a receiver's catch-up tool).
    const replay = await fhir(`${hapi.baseUrl}/${subscription}/$trigger-subscription`, {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [{ name: 'resourceId', valueUri: `Observation/${id}` }],
      }),
    });
    assert.equal(replay.status, 200);
    await waitFor(
      () => receiver.deliveries.filter((d) => d.path === `/hook/Observation/${id}`).length === 3,
      {
        what: 'the replayed delivery',
      },
    );

    await fhir(`${hapi.baseUrl}/Observation/${id}`, { method: 'DELETE' });
    const deleted = await waitFor(() => receiver.deliveries.find((d) => d.method === 'DELETE'), {
      what: 'the delete to be pushed',
    });
    assert.equal(deleted.path, `/hook/Observation/${id}`);
    assert.equal(deleted.body, '');
    assert.equal(deleted.headers.authorization, 'Bearer test-secret');

    assert.ok(
      receiver.deliveries.every((d) => d.path.startsWith('/hook/Observation/')),
      'the Patient create matched no subscription',
    );
  });

  it('pushes every Observation of a Synthea transaction', async () => {
    const before = receiver.deliveries.length;
    const report = await loadSyntheaIntoHapi(hapi.baseUrl, [small]);
    const ids = report.bundles[0]!.locations.filter((l) => l.startsWith('Observation/')).map(
      (l) => l.split('/')[1],
    );
    assert.equal(ids.length, 50);
    await waitFor(
      () => {
        const paths = new Set(receiver.deliveries.slice(before).map((d) => d.path));
        return ids.every((id) => paths.has(`/hook/Observation/${id}`));
      },
      { what: 'all 50 Observations to be pushed', timeoutMs: 120_000 },
    );
  });

  it('redelivers with back-off while the receiver fails (injected 503s)', async () => {
    let failures = 0;
    receiver.setResponder((d) => (d.path.includes('/Observation/') && failures++ < 2 ? 503 : 200));
    try {
      const created = await fhir<Observation>(`${hapi.baseUrl}/Observation`, {
        method: 'POST',
        body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'retry me' } }),
      });
      const path = `/hook/Observation/${created.body.id}`;
      const attempts = await waitFor(
        () => {
          const seen = receiver.deliveries.filter((d) => d.path === path);
          return seen.length >= 3 ? seen : undefined;
        },
        { what: 'two failed attempts and a third delivery', timeoutMs: 60_000 },
      );
      assert.ok(
        attempts.every((d) => d.headers['if-match'] === 'W/"1"'),
        'each attempt carries the same version',
      );
    } finally {
      receiver.setResponder(() => 200);
    }
  });

  it("validates with HAPI's validator: R4 core, and AuditEvents against the vendored IHE BALP profiles", async () => {
    const example = JSON.parse(
      readFileSync(
        join(
          repoRoot,
          'tools/fhir-server/src/main/resources/ig/ihe.iti.balp/example/AuditEvent-ex-auditBasicReadServer.json',
        ),
        'utf8',
      ),
    ) as AuditEvent;
    const good = await validateResource(hapi.baseUrl, example);
    assert.deepEqual(good.errors.map(describeIssue), [], "IHE's own Patient Read example conforms");
    assert.ok(
      good.issues.every((i) => !/has not been checked because it is unknown/.test(i.diagnostics ?? '')),
      'the BALP profile is known to the server',
    );
    // The same event without its patient entity breaks IHE.BasicAudit.PatientRead.
    const noPatient = {
      ...example,
      entity: example.entity!.filter((e) => e.type?.code !== '1'),
    };
    const bad = await validateResource(hapi.baseUrl, noPatient);
    assert.ok(
      bad.errors.some(
        (i) => /entity:patient/.test(i.diagnostics ?? '') && /PatientRead/.test(i.diagnostics ?? ''),
      ),
      bad.errors.map(describeIssue).join('\n'),
    );
    // R4 core: a Provenance without its required target and recorded.
    const core = await validateResource(hapi.baseUrl, {
      resourceType: 'Provenance',
      agent: [{ who: { display: 'x' } }],
    } as never);
    assert.ok(core.errors.some((i) => /Provenance\.target/.test(describeIssue(i))));
    assert.ok(core.errors.some((i) => /Provenance\.recorded/.test(describeIssue(i))));
  });

  it(
    'delivers R4 backport topic notifications: handshake, heartbeat, full-resource, id-only and empty',
    { timeout: 180_000 },
    async () => {
      const topic = 'urn:ehr-anchor:test:topic:service-request';
      await createSubscriptionTopic(hapi.baseUrl, { url: topic, resourceTypes: ['ServiceRequest'] });
      const patient = await fhir<Patient>(`${hapi.baseUrl}/Patient`, {
        method: 'POST',
        body: JSON.stringify({ resourceType: 'Patient' }),
      });
      const ids: Record<string, string> = {};
      for (const content of ['full-resource', 'id-only', 'empty'] as const) {
        ids[content] = await createTopicSubscription(hapi.baseUrl, {
          topic,
          filter: 'ServiceRequest?intent=order',
          endpoint: `${receiver.url}/topic`,
          headers: ['Authorization: Bearer topic-secret'],
          content,
          ...(content === 'empty' ? { heartbeatSeconds: 2 } : {}),
        });
      }
      const notifications = () =>
        receiver.deliveries
          .filter((d) => d.method === 'POST' && d.path === '/topic')
          .map((d) => ({ ...readTopicNotification(JSON.parse(d.body))!, auth: d.headers.authorization }));
      await waitFor(
        () =>
          Object.values(ids).every((id) =>
            notifications().some((n) => n.subscription === id && n.type === 'handshake'),
          ),
        { what: 'a handshake for each subscription', timeoutMs: 60_000 },
      );
      const request = await fhir<{ id: string }>(`${hapi.baseUrl}/ServiceRequest`, {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'ServiceRequest',
          status: 'active',
          intent: 'order',
          code: { text: 'follow-up visit' },
          subject: { reference: `Patient/${patient.body.id}` },
        }),
      });
      const events = await waitFor(
        () => {
          const seen = notifications().filter((n) => n.type === 'event-notification');
          return Object.values(ids).every((id) => seen.some((n) => n.subscription === id)) ? seen : undefined;
        },
        { what: 'an event notification for each subscription', timeoutMs: 60_000 },
      );
      const of = (content: string) => events.find((n) => n.subscription === ids[content])!;
      assert.deepEqual(of('full-resource').entries, [
        {
          fullUrl: of('full-resource').entries[0]!.fullUrl,
          method: 'POST',
          resourceType: 'ServiceRequest',
          id: request.body.id,
          versionId: '1',
        },
      ]);
      assert.deepEqual(of('full-resource').focus, [`ServiceRequest/${request.body.id}`]);
      assert.equal(of('id-only').entries.length, 1);
      assert.equal(of('id-only').entries[0]!.resourceType, undefined, 'id-only carries no resource');
      assert.match(of('id-only').entries[0]!.fullUrl ?? '', new RegExp(`ServiceRequest/${request.body.id}`));
      assert.deepEqual(of('empty').entries, [], 'empty carries no entry after the status');
      assert.deepEqual(of('empty').focus, [], 'and no focus');
      const heartbeat = await waitFor(
        () => notifications().find((n) => n.subscription === ids.empty && n.type === 'heartbeat'),
        { what: 'a heartbeat (period 2 s)', timeoutMs: 30_000 },
      );
      assert.deepEqual(heartbeat.entries, []);
      assert.ok(
        notifications().every((n) => n.auth === 'Bearer topic-secret'),
        'channel headers on every notification',
      );
      assert.ok(
        !notifications().some((n) => n.subscription !== ids.empty && n.type === 'heartbeat'),
        'no heartbeat without a heartbeat period',
      );
      for (const id of Object.values(ids)) await stopSubscription(hapi.baseUrl, id);
    },
  );
});
