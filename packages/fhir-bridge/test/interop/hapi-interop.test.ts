/**
 * Interop suite: a real HAPI FHIR R4 JPA server (testkit `startHapi`, H2 file database) pushes
 * through its own REST-hook Subscriptions to the real bridge (SQLite outbox, Kubo, anvil with the
 * contracts deployed), which anchors every version and writes a Provenance back to HAPI.
 *
 * Between HAPI and the bridge sits a transparent forwarding hop (`DeliveryTap`) that records every
 * delivery HAPI makes and the status it got. It changes nothing, except for one named injected
 * fault: `replyLostOnce(path)` forwards the next delivery for that path to the bridge and then
 * answers HAPI 503 instead of the bridge's 202 — the bridge has stored the version, HAPI thinks it
 * failed and redelivers (at-least-once delivery).
 *
 * Run with `npm run test:interop -w packages/fhir-bridge` (one HAPI start-up for the whole file).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { leafHash, verifyProof, type Hex } from '@ehr-anchor/core';
import {
  CLINICAL_TYPES,
  createRestHookSubscription,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
  startHapi,
  waitFor,
  type Hapi,
  type LoadReport,
} from '@ehr-anchor/testkit';
import type { Bundle, Condition, Observation, Provenance } from 'fhir/r4';
import { PROVENANCE_SYSTEMS } from '../../src/pipeline/pipeline.js';
import type { RecordInfo } from '../../src/outbox/index.js';
import { BEARER, bridgeFor, startEnv, type Env } from '../helpers.js';

interface Delivery {
  method: string;
  path: string;
  /** Status HAPI got back. */
  status: number;
  /** Status the bridge answered (differs from `status` only under the injected fault). */
  bridgeStatus: number;
  fault?: 'reply-lost';
}

/** Forwards HAPI's deliveries to the bridge unchanged and records them; see the file comment. */
class DeliveryTap {
  readonly deliveries: Delivery[] = [];
  readonly #replyLost = new Set<string>();
  #server: Server | undefined;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#forward(req).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** Injected fault: the next delivery for `path` reaches the bridge, but HAPI is answered 503. */
  replyLostOnce(path: string): void {
    this.#replyLost.add(path);
  }

  async #forward(
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || ['host', 'connection', 'content-length', 'transfer-encoding'].includes(name))
        continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const response = await fetch(`${this.target}${path}`, {
      method,
      headers,
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? 'application/fhir+json';
    if (this.#replyLost.delete(path)) {
      this.deliveries.push({ method, path, status: 503, bridgeStatus: response.status, fault: 'reply-lost' });
      return {
        status: 503,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('injected fault: reply lost'),
      };
    }
    this.deliveries.push({ method, path, status: response.status, bridgeStatus: response.status });
    return { status: response.status, headers: { 'content-type': contentType }, body };
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

async function fhir<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: {
      accept: 'application/fhir+json',
      'content-type': 'application/fhir+json',
      'cache-control': 'no-cache',
      ...init.headers,
    },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Sum of a Prometheus counter over all its label sets, from the bridge's /metrics. */
async function metric(bridgeUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${bridgeUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const key = (type: string, id: string, vid: string) => `${type}/${id}/_history/${vid}`;

describe('interop: HAPI FHIR JPA pushes through REST-hook subscriptions to the bridge', () => {
  const suiteStarted = Date.now();
  let env: Env;
  let hapi: Hapi;
  let hapiDir: string;
  let tap: DeliveryTap;
  let bridge: Awaited<ReturnType<typeof bridgeFor>>;
  let subscriptions: string[];
  let report: LoadReport;
  const startups: { startupMs: number; rssBytes: number }[] = [];
  const counts: [string, number | string][] = [];

  async function allRecords(): Promise<RecordInfo[]> {
    const c = await bridge.app.outbox.counts();
    const total = Object.values(c.records).reduce((a, b) => a + b, 0);
    const out: RecordInfo[] = [];
    for (let seq = 1; out.length < total && seq <= total + 10_000; seq += 500) {
      out.push(...(await bridge.app.outbox.bySeq(Array.from({ length: 500 }, (_, i) => seq + i))));
    }
    return out;
  }

  async function anchoredVersion(type: string, id: string, vid: string, what: string): Promise<RecordInfo> {
    return waitFor(
      async () =>
        (await bridge.app.outbox.versions(type, id)).find(
          (v) => v.versionId === vid && v.state === 'anchored',
        ),
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        what,
      },
    );
  }

  /** Waits until the bridge has written (or, for tombstones, skipped) the Provenance of every record. */
  async function provenanceSettled(timeoutMs: number): Promise<RecordInfo[]> {
    return waitFor(
      async () => {
        const all = await allRecords();
        return all.every((r) => r.provenance?.startsWith(r.deleted ? 'skipped' : 'done:')) ? all : undefined;
      },
      { timeoutMs, intervalMs: 1_000, what: 'every Provenance written back' },
    );
  }

  before(async () => {
    hapiDir = await mkdtemp(join(tmpdir(), 'ehr-interop-hapi-'));
    [env, hapi] = await Promise.all([startEnv(), startHapi({ dataDir: hapiDir })]);
    startups.push({ startupMs: hapi.startupMs, rssBytes: hapi.rssBytes });
    bridge = await bridgeFor(env, 'interop', {
      logLevel: 'warn',
      batchMax: 500,
      batchMaxMs: 500,
      sources: [
        { id: 'hapi', auth: { type: 'bearer', secret: BEARER }, fhirBaseUrl: hapi.baseUrl, provenance: true },
      ],
    });
    tap = new DeliveryTap(bridge.url);
    await tap.start();
  });

  after(async () => {
    await tap?.stop();
    await bridge?.app.close();
    await Promise.all([env?.stop(), hapi?.stop()]);
    if (hapiDir) await rm(hapiDir, { recursive: true, force: true });
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const rows: [string, number | string][] = [
      ...startups.map((s, i): [string, string] => [
        `HAPI start-up #${i + 1} (s / JVM RSS)`,
        `${(s.startupMs / 1000).toFixed(1)} / ${mib(s.rssBytes)}`,
      ]),
      ...counts,
      ['suite wall time (s)', ((Date.now() - suiteStarted) / 1000).toFixed(1)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      [
        '',
        'interop counts (HAPI FHIR → bridge)',
        ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
        '',
      ].join('\n'),
    );
  });

  it(
    'anchors every resource of the five Synthea bundles HAPI pushes exactly once, each verifiable against the on-chain root',
    { timeout: 600_000 },
    async () => {
      subscriptions = await createRestHookSubscription(hapi.baseUrl, `${tap.url}/fhir`, [
        `Authorization: Bearer ${BEARER}`,
      ]);
      assert.equal(subscriptions.length, CLINICAL_TYPES.length);
      report = await loadSyntheaIntoHapi(hapi.baseUrl, loadSyntheaBundles());
      const expected = new Set(report.bundles.flatMap((b) => b.locations));
      assert.equal(report.resources, 1547, 'the five fixture bundles');
      assert.equal(expected.size, report.resources, 'HAPI created one version per entry');

      const anchoredAll = await waitFor(
        async () => {
          const c = await bridge.app.outbox.counts();
          return c.records.anchored >= expected.size &&
            c.records.received + c.records.stored + c.records.batched === 0
            ? c
            : undefined;
        },
        { timeoutMs: 420_000, intervalMs: 1_000, what: `${expected.size} pushed versions anchored` },
      );

      const records = await allRecords();
      const byKey = new Map<string, RecordInfo[]>();
      for (const r of records)
        byKey.set(key(r.resourceType, r.resourceId, r.versionId), [
          ...(byKey.get(key(r.resourceType, r.resourceId, r.versionId)) ?? []),
          r,
        ]);
      const missing = [...expected].filter((k) => !byKey.has(k));
      assert.deepEqual(missing, [], 'every version HAPI created is in the outbox');
      const doubled = [...byKey].filter(([, rows]) => rows.length !== 1).map(([k]) => k);
      assert.deepEqual(doubled, [], 'one outbox row per type/id/version');
      assert.deepEqual(
        [...byKey.keys()].filter((k) => !expected.has(k)),
        [],
        'nothing anchored that HAPI did not create',
      );
      assert.equal(new Set(records.map((r) => r.leaf)).size, records.length, 'one leaf each');

      // Verifiable: the leaf recomputed from its fields, its proof to the batch root, the root on chain.
      const batches = new Map<number, { root: Hex; count: number }>();
      for (const r of records) {
        assert.equal(r.state, 'anchored');
        if (!batches.has(r.batchId!)) {
          const batch = (await bridge.app.outbox.getBatch(r.batchId!))!;
          const [, timestamp, count] = (await bridge.app.chain.registry.getFunction('anchorOf')(
            batch.root,
          )) as [string, bigint, bigint];
          assert.ok(timestamp > 0n, `batch ${batch.id}'s root is anchored on chain`);
          assert.equal(Number(count), batch.count);
          assert.equal(
            await bridge.app.chain.registry.getFunction('verifyLeaf')(batch.root, r.leaf, r.proof),
            true,
            'EhrRegistry.verifyLeaf',
          );
          batches.set(r.batchId!, { root: batch.root as Hex, count: batch.count });
        }
        const leaf = leafHash({
          subject: r.subject as Hex,
          resourceType: r.resourceType,
          resourceId: r.resourceId,
          versionId: r.versionId,
          contentHash: r.contentHash as Hex,
          payloadCid: r.cid!,
          salt: r.salt as Hex,
        });
        assert.equal(leaf, r.leaf, `${r.resourceType}/${r.resourceId} leaf recomputes`);
        assert.ok(
          verifyProof(leaf, r.proof as Hex[], batches.get(r.batchId!)!.root),
          `${r.resourceType}/${r.resourceId} proof verifies`,
        );
      }
      assert.equal(
        [...batches.values()].reduce((n, b) => n + b.count, 0),
        records.length,
        'the batches hold exactly these leaves',
      );

      const deliveries = tap.deliveries.filter((d) => d.method === 'PUT');
      const rejected = tap.deliveries.filter((d) => d.bridgeStatus >= 400);
      assert.deepEqual(rejected, [], "the bridge refused none of HAPI's deliveries");
      assert.equal(await metric(bridge.url, 'ehr_bridge_rejected_total'), 0);
      counts.push(
        ['pushed (resources HAPI created)', report.resources],
        ['deliveries HAPI made (PUT)', deliveries.length],
        ['accepted (202)', deliveries.filter((d) => d.bridgeStatus === 202).length],
        ['rejected (4xx/5xx)', rejected.length],
        ['new versions (ehr_bridge_received_total)', await metric(bridge.url, 'ehr_bridge_received_total')],
        ['anchored', anchoredAll.records.anchored],
        ['batches / anchor transactions', batches.size],
        ['HAPI load of 5 bundles (s)', (report.ms / 1000).toFixed(1)],
      );
    },
  );

  it('anchors an update as a new version and a delete as a tombstone', { timeout: 300_000 }, async () => {
    const obsLocation = report.bundles.flatMap((b) => b.locations).find((l) => l.startsWith('Observation/'))!;
    const [, obsId] = obsLocation.split('/');
    const v1 = await fhir<Observation>(`${hapi.baseUrl}/Observation/${obsId}`);
    const v2 = await fhir<Observation>(`${hapi.baseUrl}/Observation/${obsId}`, {
      method: 'PUT',
      body: JSON.stringify({ ...v1, status: 'amended' }),
    });
    assert.equal(v2.meta!.versionId, '2');
    await anchoredVersion('Observation', obsId!, '2', 'the update anchored');
    const obsVersions = await bridge.app.outbox.versions('Observation', obsId!);
    assert.deepEqual(
      obsVersions.map((v) => v.versionId).sort(),
      ['1', '2'],
      'version 1 kept, version 2 added, nothing else',
    );
    assert.notEqual(obsVersions[0]!.contentHash, obsVersions[1]!.contentHash);

    // An ExplanationOfBenefit: nothing references it, so HAPI's referential integrity allows the delete.
    const eobLocation = report.bundles
      .flatMap((b) => b.locations)
      .find((l) => l.startsWith('ExplanationOfBenefit/'))!;
    const [, eobId] = eobLocation.split('/');
    await fhir(`${hapi.baseUrl}/ExplanationOfBenefit/${eobId}`, { method: 'DELETE' });
    const tombstone = await anchoredVersion(
      'ExplanationOfBenefit',
      eobId!,
      'deleted',
      'the tombstone anchored',
    );
    assert.equal(tombstone.deleted, true);
    const eobVersions = await bridge.app.outbox.versions('ExplanationOfBenefit', eobId!);
    assert.deepEqual(eobVersions.map((v) => v.versionId).sort(), ['1', 'deleted']);
    assert.equal(
      tombstone.subject,
      eobVersions.find((v) => v.versionId === '1')!.subject,
      'the tombstone keeps the patient subject',
    );
    assert.ok(
      tap.deliveries.some(
        (d) => d.method === 'DELETE' && d.path === `/fhir/ExplanationOfBenefit/${eobId}` && d.status === 202,
      ),
    );
    counts.push(
      ['update → new anchored version', `Observation v2 (${obsVersions.length} rows)`],
      ['delete → tombstone', 'ExplanationOfBenefit/_history/deleted'],
    );
  });

  it(
    'does not anchor twice when HAPI redelivers: a lost reply (injected fault) and $trigger-subscription after a HAPI restart',
    { timeout: 600_000 },
    async () => {
      // 1. Injected fault "reply lost": the bridge stores version 2, HAPI sees 503 and retries.
      const condLocation = report.bundles
        .flatMap((b) => b.locations)
        .find((l) => l.startsWith('Condition/'))!;
      const [, condId] = condLocation.split('/');
      const path = `/fhir/Condition/${condId}`;
      const beforeUpdate = tap.deliveries.length;
      tap.replyLostOnce(path);
      const c1 = await fhir<Condition>(`${hapi.baseUrl}/Condition/${condId}`);
      await fhir<Condition>(`${hapi.baseUrl}/Condition/${condId}`, {
        method: 'PUT',
        body: JSON.stringify({ ...c1, verificationStatus: { text: 'confirmed (re-checked)' } }),
      });
      const attempts = await waitFor(
        () => {
          const seen = tap.deliveries
            .slice(beforeUpdate)
            .filter((d) => d.path === path && d.method === 'PUT');
          return seen.length >= 2 && seen.at(-1)!.status === 202 ? seen : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'HAPI to redeliver after the 503' },
      );
      assert.equal(attempts[0]!.fault, 'reply-lost');
      assert.equal(attempts[0]!.bridgeStatus, 202, 'the bridge had accepted the first attempt');
      await anchoredVersion('Condition', condId!, '2', 'Condition version 2 anchored');
      assert.deepEqual(
        (await bridge.app.outbox.versions('Condition', condId!)).map((v) => v.versionId).sort(),
        ['1', '2'],
        'the redelivery added no row',
      );

      // 2. HAPI restarts on the same database; its delivery queue was in memory, so replay on purpose.
      // (First let the bridge finish its Provenance writes, so the restart does not show up as their outage.)
      const before = await provenanceSettled(300_000);
      const duplicatesBefore = await metric(bridge.url, 'ehr_bridge_duplicates_total');
      // Same port: the bridge's source (Provenance write-back, reads) names HAPI's base URL.
      const port = Number(new URL(hapi.baseUrl).port);
      await hapi.stop();
      hapi = await startHapi({ dataDir: hapiDir, port });
      startups.push({ startupMs: hapi.startupMs, rssBytes: hapi.rssBytes });
      const again = await createRestHookSubscription(hapi.baseUrl, `${tap.url}/fhir`, [
        `Authorization: Bearer ${BEARER}`,
      ]);
      assert.deepEqual(again, subscriptions, 'the subscriptions survived the restart and were reused');

      const conditionSub = subscriptions[CLINICAL_TYPES.indexOf('Condition')]!;
      const observationSub = subscriptions[CLINICAL_TYPES.indexOf('Observation')]!;
      const conditions = await fhir<Bundle>(`${hapi.baseUrl}/Condition?_count=1000&_elements=id`);
      const conditionIds = (conditions.entry ?? []).map((e) => e.resource!.id!);
      assert.equal(conditionIds.length, 34);
      const obsId = before.find((r) => r.resourceType === 'Observation' && r.versionId === '2')!.resourceId;
      const mark = tap.deliveries.length;
      await fhir(`${hapi.baseUrl}/${conditionSub}/$trigger-subscription`, {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'searchUrl', valueString: 'Condition?' }],
        }),
      });
      await fhir(`${hapi.baseUrl}/${observationSub}/$trigger-subscription`, {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'resourceId', valueUri: `Observation/${obsId}` }],
        }),
      });
      const wanted = new Set([
        ...conditionIds.map((id) => `/fhir/Condition/${id}`),
        `/fhir/Observation/${obsId}`,
      ]);
      const replayed = await waitFor(
        () => {
          const seen = tap.deliveries.slice(mark).filter((d) => wanted.has(d.path));
          return new Set(seen.map((d) => d.path)).size === wanted.size ? seen : undefined;
        },
        {
          timeoutMs: 240_000,
          intervalMs: 500,
          what: `HAPI to redeliver ${wanted.size} resources after the restart`,
        },
      );
      assert.ok(
        replayed.every((d) => d.status === 202),
        'every replay accepted',
      );
      await waitFor(
        async () =>
          (await metric(bridge.url, 'ehr_bridge_duplicates_total')) - duplicatesBefore >= replayed.length,
        {
          timeoutMs: 30_000,
          what: 'the replays counted as duplicates',
        },
      );
      const afterReplay = await allRecords();
      assert.equal(afterReplay.length, before.length, 'no new outbox row from any replay');
      assert.equal(
        (await metric(bridge.url, 'ehr_bridge_duplicates_total')) - duplicatesBefore,
        tap.deliveries.slice(mark).length,
        'every delivery after the restart was a duplicate',
      );
      counts.push(
        [
          'reply-lost fault: HAPI attempts / Condition rows',
          `${attempts.length} / ${(await bridge.app.outbox.versions('Condition', condId!)).length}`,
        ],
        ['redelivered by $trigger-subscription after restart', replayed.length],
        ['duplicates (ehr_bridge_duplicates_total)', await metric(bridge.url, 'ehr_bridge_duplicates_total')],
        ['outbox rows (versions anchored)', afterReplay.length],
      );
    },
  );

  it(
    'writes one Provenance per anchored version back to HAPI, targeting Type/id/_history/vid with the anchor as entities',
    { timeout: 400_000 },
    async () => {
      const chainId = await bridge.app.chain.chainId();
      const records = await provenanceSettled(300_000);

      // Read every Provenance HAPI holds (no-cache: HAPI caches repeated searches for 60 s).
      const byTarget = new Map<string, Provenance[]>();
      let next: string | undefined = `${hapi.baseUrl}/Provenance?_count=500`;
      while (next) {
        const page: Bundle<Provenance> = await fhir<Bundle<Provenance>>(next);
        for (const e of page.entry ?? []) {
          const target = e.resource!.target[0]!.reference!;
          byTarget.set(target, [...(byTarget.get(target) ?? []), e.resource!]);
        }
        next = page.link?.find((l) => l.relation === 'next')?.url;
      }
      const written = records.filter((r) => !r.deleted);
      assert.equal(
        [...byTarget.values()].reduce((n, p) => n + p.length, 0),
        written.length,
        'one Provenance per version, none twice',
      );
      const batches = new Map<number, { root: string; txHash: string | null; manifestCid: string }>();
      for (const r of written) {
        const provenances = byTarget.get(key(r.resourceType, r.resourceId, r.versionId));
        assert.equal(
          provenances?.length,
          1,
          `one Provenance targets ${r.resourceType}/${r.resourceId}/_history/${r.versionId}`,
        );
        if (!batches.has(r.batchId!))
          batches.set(r.batchId!, (await bridge.app.outbox.getBatch(r.batchId!))!);
        const batch = batches.get(r.batchId!)!;
        const ids = Object.fromEntries(
          provenances[0]!.entity!.map((e) => [e.what.identifier!.system!, e.what.identifier!.value!]),
        );
        assert.deepEqual(ids, {
          [PROVENANCE_SYSTEMS.root]: batch.root,
          [PROVENANCE_SYSTEMS.tx]: `eip155:${chainId}:${batch.txHash}`,
          [PROVENANCE_SYSTEMS.manifest]: batch.manifestCid,
          [PROVENANCE_SYSTEMS.leaf]: r.leaf,
        });
        assert.equal(provenances[0]!.id, r.provenance!.slice('done:'.length));
      }

      // The search a FHIR client would make: both versions of the updated Observation, each its own Provenance.
      const updated = written.find((r) => r.resourceType === 'Observation' && r.versionId === '2')!;
      const found = await fhir<Bundle<Provenance>>(
        `${hapi.baseUrl}/Provenance?target=Observation/${updated.resourceId}`,
      );
      assert.deepEqual((found.entry ?? []).map((e) => e.resource!.target[0]!.reference).sort(), [
        key('Observation', updated.resourceId, '1'),
        key('Observation', updated.resourceId, '2'),
      ]);
      counts.push(
        ['Provenance on HAPI (one per non-deleted version)', written.length],
        ['tombstones (no Provenance)', records.length - written.length],
      );
    },
  );
});
