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
  createSubscriptionTopic,
  createTopicSubscription,
  describeIssue,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
  readTopicNotification,
  startHapi,
  stopSubscription,
  validateResource,
  waitFor,
  type Hapi,
  type LoadReport,
  type TopicPayload,
} from '@ehr-anchor/testkit';
import type { AuditEvent, Bundle, Condition, Consent, Observation, Patient, Provenance } from 'fhir/r4';
import { auditActionSchema, type AuditEntry, type EntryReceipt, type RecordRead } from '@ehr-anchor/core/api';
import { auditEventFor, type AuditAction } from '../../src/read/audit.js';
import { consentId } from '../../src/read/consent-mirror.js';
import { fullEntry } from '../entry-fixture.js';
import { api, signIn, startReadWorld, upload, type ReadWorld } from '../read-harness.js';
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
  /** The body of a POST to the base `/fhir` (topic notifications). */
  body?: string;
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
    const posted =
      method === 'POST' && path === '/fhir' ? { body: Buffer.concat(chunks).toString('utf8') } : {};
    const response = await fetch(`${this.target}${path}`, {
      method,
      headers,
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? 'application/fhir+json';
    if (this.#replyLost.delete(path)) {
      this.deliveries.push({
        method,
        path,
        status: 503,
        bridgeStatus: response.status,
        fault: 'reply-lost',
        ...posted,
      });
      return {
        status: 503,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('injected fault: reply lost'),
      };
    }
    this.deliveries.push({ method, path, status: response.status, bridgeStatus: response.status, ...posted });
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

const TOPIC_BEARER = 'test-topic-bearer-secret-0123456789';
const TOPIC = 'urn:ehr-anchor:interop:topic:service-request';

/** `$validate` on HAPI; fails on any error, returns the warnings (as text) for the report. */
async function assertValid(
  base: string,
  resource: { resourceType: string },
  what: string,
  profile?: string,
): Promise<string[]> {
  const result = await validateResource(base, resource, profile);
  assert.deepEqual(result.errors.map(describeIssue), [], `${what} validates with 0 errors`);
  return result.warnings.map(describeIssue);
}

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
  let world: ReadWorld | undefined;
  /** Validation warnings by resource kind, each distinct text once (printed with the counts). */
  const warnings = new Map<string, Set<string>>();
  const validated = new Map<string, number>();
  async function validateAll(kind: string, resources: { resourceType: string }[], profile?: string) {
    for (const [i, resource] of resources.entries()) {
      const found = await assertValid(hapi.baseUrl, resource, `${kind} #${i + 1}`, profile);
      const set = warnings.get(kind) ?? new Set<string>();
      // Per-instance values (codes, indexes) vary; the validator's message is what the report lists.
      for (const w of found)
        set.add(
          w
            .replace(/\[\d+\]/g, '[n]')
            .replace(/#[\w.-]+/g, '#…')
            .replace(/ \(error message = .*\)$/, ''),
        );
      warnings.set(kind, set);
    }
    validated.set(kind, (validated.get(kind) ?? 0) + resources.length);
  }
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
        // HAPI's topic-based subscriptions push with their own secret; an empty notification
        // re-reads ServiceRequests changed since the last pull.
        {
          id: 'hapi-topics',
          auth: { type: 'bearer', secret: TOPIC_BEARER },
          fhirBaseUrl: hapi.baseUrl,
          provenance: true,
          types: ['ServiceRequest'],
        },
      ],
    });
    tap = new DeliveryTap(bridge.url);
    await tap.start();
  });

  after(async () => {
    await world?.stop();
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
      ...[...validated].map(([kind, n]): [string, string] => [
        `validated with 0 errors: ${kind}`,
        `${n} (${warnings.get(kind)?.size ?? 0} distinct warnings)`,
      ]),
      ['suite wall time (s)', ((Date.now() - suiteStarted) / 1000).toFixed(1)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      [
        '',
        'interop counts (HAPI FHIR → bridge)',
        ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
        '',
        'validation warnings (HAPI $validate, by resource kind)',
        ...[...warnings].flatMap(([kind, set]) => [...set].map((w) => `  ${kind}: ${w}`)),
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

  it(
    'receives every topic-notification shape HAPI sends (R4 backport): handshake, heartbeat, full-resource, id-only and empty; each ServiceRequest version anchored once',
    { timeout: 400_000 },
    async () => {
      await createSubscriptionTopic(hapi.baseUrl, { url: TOPIC, resourceTypes: ['ServiceRequest'] });
      const subs = new Map<string, TopicPayload>();
      for (const content of ['full-resource', 'id-only', 'empty'] as const) {
        const id = await createTopicSubscription(hapi.baseUrl, {
          topic: TOPIC,
          filter: 'ServiceRequest?intent=order',
          endpoint: `${tap.url}/fhir`,
          headers: [`Authorization: Bearer ${TOPIC_BEARER}`],
          content,
          heartbeatSeconds: 5,
        });
        subs.set(id, content);
      }
      const notifications = (from = 0) =>
        tap.deliveries.slice(from).flatMap((d) => {
          const n = d.body === undefined ? undefined : readTopicNotification(JSON.parse(d.body));
          return n && subs.has(n.subscription)
            ? [{ ...n, content: subs.get(n.subscription)!, status: d.status, bridgeStatus: d.bridgeStatus }]
            : [];
        });
      await waitFor(
        () =>
          [...subs.keys()].every((id) =>
            notifications().some((n) => n.subscription === id && n.type === 'handshake'),
          ),
        { what: 'a handshake for each topic subscription', timeoutMs: 90_000, intervalMs: 250 },
      );

      // Three ServiceRequests, the first one then completed: four versions on HAPI.
      const patientId = report.bundles[0]!.locations.find((l) => l.startsWith('Patient/'))!.split('/')[1]!;
      type Request = { resourceType: 'ServiceRequest'; id: string; meta: { versionId: string } };
      const created: Request[] = [];
      for (const text of ['follow-up visit', 'physiotherapy referral', 'lipid panel']) {
        created.push(
          await fhir<Request>(`${hapi.baseUrl}/ServiceRequest`, {
            method: 'POST',
            body: JSON.stringify({
              resourceType: 'ServiceRequest',
              status: 'active',
              intent: 'order',
              code: { text },
              subject: { reference: `Patient/${patientId}` },
            }),
          }),
        );
      }
      const first = created[0]!;
      const completed = await fhir<Request>(`${hapi.baseUrl}/ServiceRequest/${first.id}`, {
        method: 'PUT',
        body: JSON.stringify({ ...first, status: 'completed' }),
      });
      assert.equal(completed.meta.versionId, '2');
      const versions = [
        ...created.map((c) => ['ServiceRequest', c.id, '1'] as const),
        ['ServiceRequest', first.id, '2'] as const,
      ];
      const events = await waitFor(
        () => {
          const seen = notifications().filter((n) => n.type === 'event-notification');
          return [...subs.keys()].every((id) => seen.filter((n) => n.subscription === id).length >= 4)
            ? seen
            : undefined;
        },
        { what: 'four event notifications per topic subscription', timeoutMs: 120_000, intervalMs: 250 },
      );
      for (const [type, id, vid] of versions)
        await anchoredVersion(type, id, vid, `${key(type, id, vid)} anchored from the topic notifications`);
      for (const c of created) {
        const rows = await bridge.app.outbox.versions('ServiceRequest', c.id);
        assert.deepEqual(
          rows.map((r) => r.versionId).sort(),
          c === first ? ['1', '2'] : ['1'],
          `ServiceRequest/${c.id}: one outbox row per version, whichever shapes delivered it`,
        );
        assert.ok(rows.every((r) => r.source === 'hapi-topics'));
      }
      // Quiet now: each subscription gets a heartbeat within its 5 s period.
      const mark = tap.deliveries.length;
      await waitFor(
        () =>
          [...subs.keys()].every((id) =>
            notifications(mark).some((n) => n.subscription === id && n.type === 'heartbeat'),
          ),
        { what: 'a heartbeat for each topic subscription', timeoutMs: 60_000, intervalMs: 500 },
      );
      for (const id of subs.keys()) await stopSubscription(hapi.baseUrl, id);

      for (const n of events) {
        const [entry] = n.entries;
        if (n.content === 'full-resource') {
          assert.equal(n.entries.length, 1);
          assert.equal(entry!.resourceType, 'ServiceRequest', 'full-resource carries the resource');
          assert.deepEqual(n.focus, [`ServiceRequest/${entry!.id}`]);
        } else if (n.content === 'id-only') {
          assert.equal(n.entries.length, 1);
          assert.equal(entry!.resourceType, undefined, 'id-only carries no resource');
          assert.match(entry!.fullUrl ?? '', /ServiceRequest\/[A-Za-z0-9\-.]+/);
        } else {
          assert.deepEqual(n.entries, [], 'empty carries nothing after the status');
          assert.deepEqual(n.focus, []);
        }
      }
      const all = notifications();
      assert.deepEqual(
        all.filter((n) => n.bridgeStatus >= 300).map((n) => `${n.type} ${n.bridgeStatus}`),
        [],
        'the bridge accepted every notification',
      );
      // Exactly one handshake and four events each: the bridge answers a Bundle, so HAPI redelivers nothing.
      for (const id of subs.keys()) {
        assert.equal(all.filter((n) => n.subscription === id && n.type === 'handshake').length, 1);
        assert.equal(all.filter((n) => n.subscription === id && n.type === 'event-notification').length, 4);
      }
      for (const content of ['full-resource', 'id-only', 'empty'] as const) {
        const of = (type: string) => all.filter((n) => n.content === content && n.type === type).length;
        counts.push([
          `topic ${content}: handshake / heartbeat / event notifications`,
          `${of('handshake')} / ${of('heartbeat')} / ${of('event-notification')}`,
        ]);
      }
      counts.push(['ServiceRequest versions anchored from topic notifications', versions.length]);
    },
  );

  it(
    'writes only valid FHIR: Provenance, Consent, AuditEvent (IHE BALP), the clinical entry, the contact edit and the DocumentReference validate on HAPI with 0 errors',
    { timeout: 900_000 },
    async () => {
      // Provenance as stored on HAPI, one per target type; the target keeps Type/id/_history/vid.
      const written = (await provenanceSettled(300_000)).filter((r) => !r.deleted);
      const oneOfEach = new Map<string, RecordInfo>();
      for (const r of written) if (!oneOfEach.has(r.resourceType)) oneOfEach.set(r.resourceType, r);
      const provenances: Provenance[] = [];
      for (const r of oneOfEach.values()) {
        const found = await fhir<Bundle<Provenance>>(
          `${hapi.baseUrl}/Provenance?target=${r.resourceType}/${r.resourceId}`,
        );
        const targets = (found.entry ?? []).map((e) => e.resource!.target[0]!.reference);
        assert.ok(
          targets.includes(key(r.resourceType, r.resourceId, r.versionId)),
          `Provenance.target is exactly ${key(r.resourceType, r.resourceId, r.versionId)} (got ${targets.join(', ')})`,
        );
        provenances.push(
          found.entry!.find(
            (e) => e.resource!.target[0]!.reference === key(r.resourceType, r.resourceId, r.versionId),
          )!.resource!,
        );
      }
      await validateAll('Provenance (write-back)', provenances);

      // The read side of a bridge writing to the same HAPI.
      await loadSyntheaIntoHapi(hapi.baseUrl, [loadSyntheaBundles().get('tiny-clemente-kreiger.json')!], {
        mode: 'put',
      });
      world = await startReadWorld({ read: { fhirBaseUrl: hapi.baseUrl } });
      const w = world;
      const patient = await signIn(w.bridge.url, w.wallets['patient self']);
      const doctor = await signIn(w.bridge.url, w.wallets['granted doctor']);
      const stranger = await signIn(w.bridge.url, w.wallets.stranger);

      // Contact edit: a new Patient version on HAPI.
      const onHapi = await fhir<Patient>(`${hapi.baseUrl}/Patient/${w.patient.id}`);
      const edit = await api(w.bridge.url, `/patients/${w.subject}/contact`, patient, {
        method: 'PATCH',
        body: {
          baseVersionId: onHapi.meta!.versionId,
          phone: '+1 555 0100',
          address: { line: ['1 New Street'], city: 'Boston', country: 'US' },
        },
      });
      assert.equal(edit.status, 202, JSON.stringify(edit.body));
      await validateAll('Patient (contact edit)', [
        await fhir<Patient>(
          `${hapi.baseUrl}/Patient/${w.patient.id}/_history/${String(edit.body.versionId)}`,
        ),
      ]);

      // Consent mirror: active and inactive Consents on HAPI.
      await waitFor(() => w.bridge.app.read.store.latestPatientSeq(w.subject) !== undefined, {
        what: 'patient indexed',
        timeoutMs: 30_000,
      });
      const consentOf = (name: keyof ReadWorld['wallets']) =>
        `${hapi.baseUrl}/Consent/${consentId(w.wallets['patient self'].address, w.wallets[name].address)}`;
      const consents = await waitFor(
        async () => {
          await w.bridge.app.read.mirror.sync();
          const list = await Promise.all(
            (['granted doctor', 'revoked grant', 'expired grant'] as const).map((n) =>
              fhir<Consent>(consentOf(n)).catch(() => undefined),
            ),
          );
          return list.every((c) => c !== undefined) ? list : undefined;
        },
        { what: 'the Consents written back to HAPI', timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.deepEqual(
        consents.map((c) => c.status),
        ['active', 'inactive', 'inactive'],
        'live grant active; revoked and expired (the chain clock is past it) inactive',
      );
      await validateAll('Consent (mirror)', consents);

      // A doctor's clinical entry: the transaction's resources as HAPI stored them.
      const entry = await api(w.bridge.url, `/patients/${w.subject}/entries`, doctor, {
        method: 'POST',
        body: fullEntry(w.patient.id!),
      });
      assert.equal(entry.status, 201, JSON.stringify(entry.body));
      const items = (entry.body as unknown as EntryReceipt).items;
      await validateAll(
        'clinical entry (transaction)',
        await Promise.all(items.map((i) => fhir<{ resourceType: string }>(`${hapi.baseUrl}/${i.reference}`))),
      );

      // A document upload: the bridge's own DocumentReference.
      const up = await upload(
        w.bridge.url,
        doctor,
        { subject: w.subject, title: 'Discharge letter', date: '2026-11-02', category: '18842-5' },
        new Blob(['discharge letter'], { type: 'text/plain' }),
      );
      assert.equal(up.status, 201, JSON.stringify(up.body));
      const readable = async (token: string, seq: number) =>
        waitFor(
          async () => {
            const r = await api(w.bridge.url, `/records/${seq}`, token);
            return r.status === 200 ? (r.body as unknown as RecordRead).resource : undefined;
          },
          { what: `record ${seq} readable`, timeoutMs: 120_000, intervalMs: 500 },
        );
      const docSeq = up.body.seq as number;
      await validateAll('DocumentReference (upload)', [await readable(doctor, docSeq)]);

      // AuditEvents of real requests: allowed ones of every read-side kind, and refused ones.
      const records = await api(w.bridge.url, `/patients/${w.subject}/records?limit=5`, doctor);
      assert.equal(records.status, 200);
      const some = (records.body.items as { seq: number }[])[0]!.seq;
      assert.equal((await api(w.bridge.url, `/records/${some}`, doctor)).status, 200);
      assert.equal((await api(w.bridge.url, `/documents/${docSeq}/content`, doctor)).status, 200);
      const family = w.patient.name![0]!.family!;
      const search = await api(w.bridge.url, '/patients/_search', doctor, {
        method: 'POST',
        body: { name: family },
      });
      assert.equal(search.status, 200);
      assert.equal((await api(w.bridge.url, `/patients/${w.subject}/consents`, patient)).status, 200);
      // Five refusals of one actor in one window: the first is audited at once, the other four as
      // one aggregated AuditEvent (count and period) when the window closes (flushed here).
      for (let i = 0; i < 5; i++)
        assert.equal((await api(w.bridge.url, `/patients/${w.subject}/records`, stranger)).status, 403);
      await w.bridge.app.read.side.denials.flush(true);
      assert.equal((await api(w.bridge.url, `/records/${some}`, undefined)).status, 401);
      const log = await api(w.bridge.url, `/patients/${w.subject}/access-log?limit=1000`, patient);
      const entries = log.body.items as AuditEntry[];
      const events: AuditEvent[] = [];
      for (const e of entries.filter((x) => x.auditSeq !== null))
        events.push((await readable(patient, e.auditSeq!)) as unknown as AuditEvent);
      const claimed = (a: AuditEvent) => a.meta?.profile?.[0]?.split('/').pop() ?? '(R4 core only)';
      const byProfile = new Map<string, number>();
      for (const a of events) byProfile.set(claimed(a), (byProfile.get(claimed(a)) ?? 0) + 1);
      for (const profile of [
        'IHE.BasicAudit.PatientQuery',
        'IHE.BasicAudit.PatientRead',
        'IHE.BasicAudit.PatientCreate',
        'IHE.BasicAudit.PatientUpdate',
      ])
        assert.ok(byProfile.has(profile), `an allowed request's AuditEvent claims ${profile}`);
      assert.ok(
        events.filter((a) => a.outcome !== '0').every((a) => !a.meta?.profile),
        'refused requests claim no BALP pattern',
      );
      await validateAll('AuditEvent (read side, real requests)', events);
      const aggregated = events.filter((a) => a.period);
      assert.equal(aggregated.length, 1, "the stranger's four later refusals are one aggregated AuditEvent");
      assert.equal(aggregated[0]!.outcome, '4');
      assert.match(aggregated[0]!.outcomeDesc!, /^4 more refused requests in this period/);
      assert.equal(
        aggregated[0]!.agent[0]!.who?.identifier?.value?.toLowerCase(),
        `did:pkh:eip155:1337:${w.wallets.stranger.address.toLowerCase()}`,
      );
      await validateAll('AuditEvent (aggregated denial: 4 refused requests in one event)', aggregated);

      // Every action × outcome of the audit writer itself, erasure included (not reachable above).
      const actions: AuditAction[] = auditActionSchema.options;
      const http = {
        method: 'GET',
        path: '/patients/0x01/records',
        clientAddress: '127.0.0.1',
        serverAddress: '127.0.0.1',
      };
      const synthetic = actions.flatMap((action) =>
        (['allowed', 'denied'] as const).map((outcome) =>
          auditEventFor(
            {
              action,
              outcome,
              actor: w.wallets['granted doctor'].address,
              role: 'doctor',
              subject: w.subject,
              entity: { resourceType: 'Observation', resourceId: 'o1', versionId: '2', seq: 7 },
              http,
              ...(outcome === 'denied' ? { reason: 'no grant for this category' } : {}),
            },
            1337,
          ),
        ),
      );
      await validateAll('AuditEvent (writer: every action × outcome)', synthetic);
      counts.push(['AuditEvents by claimed profile', [...byProfile].map(([p, n]) => `${p} ${n}`).join(', ')]);
    },
  );
});
