/**
 * Against a real HAPI FHIR JPA server (testkit `startHapi`): REST-hook subscriptions push every
 * version to the bridge, which anchors it and writes a Provenance back; empty, id-only and
 * content-less notifications make the bridge read from HAPI (fhir-kit-client); deletes become
 * tombstones; `sync` pages through HAPI's search and resumes where it stopped.
 */
import assert from 'node:assert/strict';
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
import { BEARER, bridgeFor, push, startEnv, type Env } from './helpers.js';

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

  before(async () => {
    [env, hapi] = await Promise.all([startEnv(), startHapi()]);
    bridge = await bridgeFor(env, 'hapi', {
      batchMax: 100,
      batchMaxMs: 200,
      sources: [
        { id: 'hapi', auth: { type: 'bearer', secret: BEARER }, fhirBaseUrl: hapi.baseUrl, provenance: true },
      ],
    });
  });
  after(async () => {
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
          const found = await fhir<Bundle>(`${hapi.baseUrl}/Provenance?target=${type}/${id}`);
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
  });

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
});
