/**
 * Against a real HAPI FHIR JPA server (testkit `startHapi`): REST-hook subscriptions push every
 * version to the bridge, which anchors it and writes a Provenance back; empty, id-only and
 * content-less notifications make the bridge read from HAPI (fhir-kit-client); deletes become
 * tombstones; `sync` pages through HAPI's search and resumes where it stopped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  createRestHookSubscription,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
  startHapi,
  waitFor,
  type Hapi,
} from '@ehr-anchor/testkit';
import type { Bundle, Observation, Provenance } from 'fhir/r4';
import { PROVENANCE_SYSTEMS } from '../src/pipeline/pipeline.js';
import { signBody } from '../src/plugins/auth.js';
import { BEARER, HMAC_SECRET, bridgeFor, faultProxy, push, startEnv, type Env } from './helpers.js';

async function fhir<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...init.headers },
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status}`);
  return (await res.json()) as T;
}

describe('with a real HAPI FHIR server', () => {
  let env: Env;
  let hapi: Hapi;
  let bridge: Awaited<ReturnType<typeof bridgeFor>>;
  const tiny = loadSyntheaBundles().get('tiny-clemente-kreiger.json')!;

  // Security review (issue 16): a second bridge reads HAPI through a proxy that injects faults on
  // purpose (named as such): a 500 for one record's Provenance, a 403 for one read.
  let guarded: Awaited<ReturnType<typeof bridgeFor>>;
  let proxy: Awaited<ReturnType<typeof faultProxy>>;
  let proxyUrl: string;
  const faults = { provenanceFor: '', refuseRead: '' };

  before(async () => {
    [env, hapi] = await Promise.all([startEnv(), startHapi()]);
    proxy = await faultProxy(hapi.baseUrl, ({ method, path, body }) => {
      if (
        method === 'POST' &&
        path.startsWith('/Provenance') &&
        faults.provenanceFor &&
        body.includes(faults.provenanceFor)
      )
        return 500;
      if (method === 'GET' && faults.refuseRead && path === `/${faults.refuseRead}`) return 403;
      return undefined;
    });
    proxyUrl = proxy.url;
    guarded = await bridgeFor(env, 'hapi-guarded', {
      batchMax: 100,
      batchMaxMs: 200,
      writeBack: { maxAttempts: 3, retryBaseMs: 50, retryMaxMs: 200 },
      sources: [
        { id: 'proxied', auth: { type: 'bearer', secret: BEARER }, fhirBaseUrl: proxyUrl, provenance: true },
        { id: 'medplum', auth: { type: 'hmac', secret: HMAC_SECRET }, fhirBaseUrl: hapi.baseUrl },
      ],
    });
    bridge = await bridgeFor(env, 'hapi', {
      batchMax: 100,
      batchMaxMs: 200,
      sources: [
        { id: 'hapi', auth: { type: 'bearer', secret: BEARER }, fhirBaseUrl: hapi.baseUrl, provenance: true },
      ],
    });
  });
  after(async () => {
    await guarded?.app.close();
    proxy?.close();
    await bridge?.app.close();
    await Promise.all([env?.stop(), hapi?.stop()]);
  });

  it(
    'anchors what HAPI pushes through a REST-hook subscription and writes a Provenance back for each version',
    { timeout: 300_000 },
    async () => {
      await createRestHookSubscription(hapi.baseUrl, `${bridge.url}/fhir`, [
        `Authorization: Bearer ${BEARER}`,
      ]);
      const report = await loadSyntheaIntoHapi(hapi.baseUrl, new Map([['tiny', tiny]]), { mode: 'put' });
      const locations = report.bundles[0]!.locations;
      assert.equal(locations.length, tiny.entry!.length);
      await waitFor(
        async () => {
          for (const location of locations) {
            const [type, id, , vid] = location.split('/');
            const versions = await bridge.app.outbox.versions(type!, id!);
            if (!versions.some((v) => v.versionId === vid && v.state === 'anchored')) return false;
          }
          return true;
        },
        { timeoutMs: 180_000, intervalMs: 500, what: 'every pushed version anchored' },
      );
      const [type, id, , vid] = locations.find((l) => l.startsWith('Observation/'))!.split('/');
      const provenance = await waitFor(
        async () => {
          // no-cache: HAPI reuses an identical search's (empty) result for 60 s otherwise.
          const found = await fhir<Bundle>(`${hapi.baseUrl}/Provenance?target=${type}/${id}`, {
            headers: { 'cache-control': 'no-cache' },
          });
          return found.entry?.[0]?.resource as Provenance | undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the Provenance write-back' },
      );
      // The bridge targets `Type/id/_history/vid`; HAPI strips versions from stored references by
      // default, tools/fhir-server keeps them (setStripVersionsFromReferences(false)).
      assert.equal(provenance.target[0]!.reference, `${type}/${id}/_history/${vid}`);
      const [version] = await bridge.app.outbox.versions(type!, id!);
      const batch = (await bridge.app.outbox.getBatch(version!.batchId!))!;
      const identifiers = provenance.entity!.map((e) => e.what.identifier!);
      assert.deepEqual(identifiers.find((i) => i.system === PROVENANCE_SYSTEMS.root)!.value, batch.root);
      assert.match(
        identifiers.find((i) => i.system === PROVENANCE_SYSTEMS.tx)!.value!,
        new RegExp(`${batch.txHash}$`),
      );
      assert.equal(
        identifiers.find((i) => i.system === PROVENANCE_SYSTEMS.manifest)!.value,
        batch.manifestCid,
      );
    },
  );

  it(
    'reads the current version from HAPI for empty, id-only and content-less notifications',
    { timeout: 180_000 },
    async () => {
      // Written straight into HAPI without a subscription match… (an Observation with a new id)
      const obs: Observation = {
        resourceType: 'Observation',
        id: 'empty-notif-1',
        status: 'final',
        code: { text: 'body temperature' },
        valueQuantity: { value: 37.1, unit: 'Cel' },
      };
      const created = await fhir<Observation>(`${hapi.baseUrl}/Observation/empty-notif-1`, {
        method: 'PUT',
        body: JSON.stringify(obs),
      });
      // … then announced with an empty REST-hook (no body).
      const res = await push(bridge.url, `/fhir/Observation/${created.id}`, undefined, { method: 'PUT' });
      assert.equal(res.status, 202);
      assert.ok(
        res.body.issue[0]!.location![0]!.endsWith(`/_history/${created.meta!.versionId}`),
        'the version HAPI has now',
      );

      const updated = await fhir<Observation>(`${hapi.baseUrl}/Observation/empty-notif-1`, {
        method: 'PUT',
        body: JSON.stringify({ ...created, status: 'amended' }),
      });
      const idOnly = {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          {
            resource: {
              resourceType: 'SubscriptionStatus',
              status: 'active',
              type: 'event-notification',
              notificationEvent: [{ eventNumber: '7', focus: { reference: `Observation/${updated.id}` } }],
            },
          },
          { fullUrl: `${hapi.baseUrl}/Observation/${updated.id}/_history/${updated.meta!.versionId}` },
        ],
      };
      const r2 = await push(bridge.url, '/fhir', idOnly);
      assert.equal(r2.status, 202);
      assert.ok(r2.body.issue[0]!.location![0]!.endsWith(`/_history/${updated.meta!.versionId}`));

      const third = await fhir<Observation>(`${hapi.baseUrl}/Observation/empty-notif-1`, {
        method: 'PUT',
        body: JSON.stringify({ ...updated, status: 'corrected' }),
      });
      const empty = {
        resourceType: 'Bundle',
        type: 'subscription-notification',
        entry: [
          { resource: { resourceType: 'SubscriptionStatus', status: 'active', type: 'event-notification' } },
        ],
      };
      const r3 = await push(bridge.url, '/fhir', empty);
      assert.equal(r3.status, 202, 'content-less: the bridge pulls changes since its last pull');
      await bridge.app.ingestor.pollsSettled();
      const versions = await bridge.app.outbox.versions('Observation', 'empty-notif-1');
      assert.deepEqual(
        versions.map((v) => v.versionId).sort(),
        [created.meta!.versionId, updated.meta!.versionId, third.meta!.versionId].sort(),
      );
    },
  );

  it('anchors a deletion HAPI delivers as a tombstone', { timeout: 120_000 }, async () => {
    await fhir(`${hapi.baseUrl}/Observation/empty-notif-1`, { method: 'DELETE' });
    await waitFor(
      async () =>
        (await bridge.app.outbox.versions('Observation', 'empty-notif-1')).some(
          (v) => v.deleted && v.state === 'anchored',
        ),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: 'the tombstone anchored',
      },
    );
    // The three versions of the empty-notification case were anchored just before the delete.
    // HAPI refuses a Provenance about a deleted resource ("HAPI-1096: Resource
    // Observation/empty-notif-1 is deleted, specified in path: Provenance.target", 400): those
    // written after the delete are skipped, not dead letters.
    const written = await waitFor(
      async () => {
        const versions = (await bridge.app.outbox.versions('Observation', 'empty-notif-1')).filter(
          (v) => !v.deleted,
        );
        return versions.every((v) => v.provenance) ? versions.map((v) => v.provenance!) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'every version of empty-notif-1 written back or skipped' },
    );
    assert.equal(written.length, 3);
    for (const p of written) assert.match(p, /^(done:.+|skipped:deleted at the source)$/);
    assert.deepEqual(await bridge.app.outbox.deadLetters(), { provenance: 0 });
  });

  it(
    'writes no Provenance, and no dead letter, for a version that arrives after its resource was deleted at the source',
    { timeout: 120_000 },
    async () => {
      const id = `late-${Date.now()}`;
      const created = await fhir<Observation>(`${hapi.baseUrl}/Observation/${id}`, {
        method: 'PUT',
        body: JSON.stringify({ resourceType: 'Observation', id, status: 'final', code: { text: 'late' } }),
      });
      const del = await fetch(`${hapi.baseUrl}/Observation/${id}`, { method: 'DELETE' });
      assert.ok(del.ok);
      // A late delivery (a REST-hook retry) of the version HAPI no longer has as current.
      const res = await push(bridge.url, '/fhir', {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: created }],
      });
      assert.equal(res.status, 202);
      const provenance = await waitFor(
        async () => (await bridge.app.outbox.versions('Observation', id))[0]?.provenance ?? undefined,
        { timeoutMs: 90_000, intervalMs: 200, what: 'the Provenance step settled the late version' },
      );
      assert.equal(provenance, 'skipped:deleted at the source');
      const status = (await (
        await fetch(`${bridge.url}/status`, { headers: { authorization: `Bearer ${BEARER}` } })
      ).json()) as { deadLetters: { provenance: number } };
      assert.equal(status.deadLetters.provenance, 0);
    },
  );

  it(
    'syncs a type from HAPI page by page and resumes an interrupted sync where it stopped',
    { timeout: 180_000 },
    async () => {
      const source = bridge.config.sources[0]!;
      const key = 'sync:test:Observation';
      let pagesSeen = 0;
      await assert.rejects(
        bridge.app.ingestor.pull(
          source,
          { type: 'Observation', pageSize: 10 },
          {
            key,
            onPage: () => {
              if (++pagesSeen === 2) throw new Error('interrupted');
            },
          },
        ),
        /interrupted/,
      );
      const saved = JSON.parse((await bridge.app.outbox.getState(key))!) as { next: string; pages: number };
      assert.equal(saved.pages, 2);
      assert.ok(saved.next);
      await bridge.app.ingestor.pull(
        source,
        { type: 'Observation', pageSize: 10 },
        { key, onPage: () => pagesSeen++ },
      );
      const done = JSON.parse((await bridge.app.outbox.getState(key))!) as {
        done: boolean;
        versions: number;
      };
      assert.equal(done.done, true);
      const total = (await fhir<Bundle>(`${hapi.baseUrl}/Observation?_summary=count`)).total!;
      assert.equal(done.versions, total, 'every Observation page read once across the two runs');
    },
  );

  it(
    'dead-letters a Provenance HAPI keeps failing (500) after its attempts while every other record gets its Provenance; ehr-bridge retry puts it back',
    { timeout: 240_000 },
    async () => {
      const ids = Array.from({ length: 5 }, (_, i) => `poison-${i}-${Date.now()}`);
      const created: Observation[] = [];
      for (const id of ids)
        created.push(
          await fhir<Observation>(`${hapi.baseUrl}/Observation/${id}`, {
            method: 'PUT',
            body: JSON.stringify({
              resourceType: 'Observation',
              id,
              status: 'final',
              code: { text: 'poison test' },
            }),
          }),
        );
      faults.provenanceFor = `Observation/${ids[2]}`;
      const res = await push(guarded.url, '/fhir', {
        resourceType: 'Bundle',
        type: 'collection',
        entry: created.map((resource) => ({ resource })),
      });
      assert.equal(res.status, 202);
      const states = () =>
        Promise.all(
          ids.map(
            async (id) => (await guarded.app.outbox.versions('Observation', id))[0]?.provenance ?? null,
          ),
        );
      const final = await waitFor(
        async () => {
          const p = await states();
          return p.every((x) => x !== null) ? p : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 200, what: 'every Provenance written or dead-lettered' },
      );
      assert.deepEqual(
        final.map((x) => x!.split(':')[0]),
        ['done', 'done', 'dead', 'done', 'done'],
      );
      assert.equal(final[2], 'dead:HTTP 500');
      assert.equal((await guarded.app.outbox.versions('Observation', ids[2]!))[0]!.provenanceAttempts, 3);
      const status = (await (
        await fetch(`${guarded.url}/status`, { headers: { authorization: `Bearer ${BEARER}` } })
      ).json()) as {
        deadLetters: { provenance: number; consent: number };
      };
      assert.deepEqual(status.deadLetters, { provenance: 1, consent: 0 });
      const metrics = await (await fetch(`${guarded.url}/metrics`)).text();
      assert.match(metrics, /ehr_bridge_dead_letters\{step="provenance"\} 1/);
      // Fixed at the source; the operator puts the dead letter back.
      faults.provenanceFor = '';
      const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
      const out = await promisify(execFile)(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', cli, 'retry', '--url', guarded.url],
        { encoding: 'utf8', env: { ...process.env, EHR_BRIDGE_TOKEN: BEARER } },
      );
      assert.match(out.stdout, /1 Provenance/);
      await waitFor(async () => (await states())[2]?.startsWith('done:'), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the retried Provenance written',
      });
    },
  );

  it(
    'records a Medplum delete ({} + X-Medplum-Deleted-Resource, HMAC of the body) only once HAPI confirms it',
    { timeout: 60_000 },
    async () => {
      const id = `mp-${Date.now()}`;
      await fhir(`${hapi.baseUrl}/Patient/${id}`, {
        method: 'PUT',
        body: JSON.stringify({ resourceType: 'Patient', id }),
      });
      const medplumDelete = (ref: string) =>
        fetch(`${guarded.url}/fhir`, {
          method: 'POST',
          headers: {
            'content-type': 'application/fhir+json',
            'x-signature': signBody(HMAC_SECRET, '{}'),
            'x-medplum-interaction': 'delete',
            'x-medplum-deleted-resource': ref,
          },
          body: '{}',
        });
      // A replayed signature of {} naming a patient the source still has: refused, nothing recorded.
      const early = await medplumDelete(`Patient/${id}`);
      assert.equal(early.status, 409);
      assert.equal((await guarded.app.outbox.versions('Patient', id)).length, 0);
      // A resource that never existed anywhere: nothing to delete (was: tombstoned).
      assert.equal((await medplumDelete(`Condition/never-${id}`)).status, 404);
      assert.equal((await guarded.app.outbox.versions('Condition', `never-${id}`)).length, 0);
      // Deleted at the source (HAPI now answers 410): the tombstone is recorded.
      const del = await fetch(`${hapi.baseUrl}/Patient/${id}`, { method: 'DELETE' });
      assert.ok(del.ok);
      const late = await medplumDelete(`Patient/${id}`);
      assert.equal(late.status, 202);
      const [tombstone] = await guarded.app.outbox.versions('Patient', id);
      assert.equal(tombstone!.deleted, true);
    },
  );

  it(
    'answers an id-only notification the source refuses (4xx) as not found, never 503',
    { timeout: 60_000 },
    async () => {
      faults.refuseRead = 'Patient/refused-1';
      try {
        const res = await push(guarded.url, '/fhir/Patient/refused-1', undefined, { method: 'PUT' });
        assert.equal(res.status, 200);
        assert.equal(res.body.issue[0]!.code, 'not-found');
        const missing = await push(guarded.url, '/fhir/Patient/does-not-exist-anywhere', undefined, {
          method: 'PUT',
        });
        assert.equal(missing.status, 200);
        assert.equal(missing.body.issue[0]!.code, 'not-found');
      } finally {
        faults.refuseRead = '';
      }
    },
  );
});
