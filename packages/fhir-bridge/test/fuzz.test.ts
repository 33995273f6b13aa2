/**
 * Fuzzed bad input against the HTTP API (fast-check, 10,000 cases through `app.inject`, since the
 * rule is about the handlers): whatever arrives — broken JSON, non-FHIR JSON, mutated Synthea
 * resources and Bundles, odd notifications, wrong content types, odd paths, missing or wrong
 * credentials — the answer is a 2xx receipt or a 4xx OperationOutcome, never a 5xx; a rejected
 * request writes nothing; and the bridge stays healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { signBody } from '../src/plugins/auth.js';
import { BEARER, HMAC_SECRET, startEnv, testConfig, type Env } from './helpers.js';

const RUNS = Number(process.env.EHR_FUZZ_RUNS ?? 10_000);

describe('fuzzed bad input', () => {
  let env: Env;
  let app: FastifyInstance;
  const resources = [...loadSyntheaBundles().values()]
    .flatMap((b) => b.entry!.map((e) => e.resource!))
    .slice(0, 400);

  before(async () => {
    env = await startEnv();
    const config = testConfig(
      `${env.dir}/fuzz`,
      { rpcUrl: env.chain.anvil.rpcUrl, deploymentFile: env.chain.deploymentFile },
      env.kubo.apiUrl,
      {
        workers: false,
        logLevel: 'silent',
        bodyLimit: 256 * 1024,
      },
    );
    app = await buildApp(config);
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await env?.stop();
  });

  const json = fc.jsonValue({ maxDepth: 4 });
  const resource = fc.constantFrom(...resources);
  /** A Synthea resource with a few fields replaced by arbitrary JSON (or removed). */
  const mutated = fc
    .tuple(
      resource,
      fc.array(
        fc.tuple(
          fc.constantFrom(
            'resourceType',
            'id',
            'meta',
            'subject',
            'text',
            'code',
            'status',
            'entry',
            'type',
            '__proto__',
            'constructor',
          ),
          fc.option(json),
        ),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    )
    .map(([r, changes]) => {
      const copy: Record<string, unknown> = structuredClone(r) as unknown as Record<string, unknown>;
      for (const [key, value] of changes) {
        if (value === null) delete copy[key];
        else
          Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
      }
      return copy;
    });
  const bundle = fc.record(
    {
      resourceType: fc.constant('Bundle'),
      type: fc.oneof(
        fc.constantFrom(
          'transaction',
          'batch',
          'collection',
          'history',
          'searchset',
          'document',
          'message',
          'subscription-notification',
        ),
        fc.string(),
      ),
      entry: fc.oneof(
        fc.array(
          fc.record(
            {
              fullUrl: fc.oneof(fc.string(), fc.constant('urn:uuid:x')),
              resource: fc.oneof(resource, mutated, json),
              request: fc.option(
                fc.record({
                  method: fc.constantFrom('POST', 'PUT', 'DELETE', 'GET', 'PATCH', 'X'),
                  url: fc.string(),
                }),
              ),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 5 },
        ),
        json,
      ),
    },
    { requiredKeys: ['resourceType'] },
  );
  const notification = fc.record({
    resourceType: fc.constant('Bundle'),
    type: fc.constantFrom('subscription-notification', 'history'),
    entry: fc.tuple(
      fc.record({
        resource: fc.record(
          {
            resourceType: fc.constantFrom('SubscriptionStatus', 'Parameters', 'Patient'),
            type: fc.oneof(
              fc.constantFrom('handshake', 'heartbeat', 'event-notification', 'query-event'),
              json,
            ),
            notificationEvent: fc.oneof(
              json,
              fc.array(
                fc.record({
                  focus: fc.record({ reference: fc.oneof(fc.string(), fc.constant('Patient/1')) }),
                }),
              ),
            ),
            parameter: json,
          },
          { requiredKeys: ['resourceType'] },
        ),
      }),
      fc.record({ fullUrl: fc.string(), resource: fc.option(resource) }),
    ),
  });
  const deep = fc.integer({ min: 50, max: 200_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
  /** The hostile shapes of the security review (issue 16): out-of-range numbers, lone surrogates, a BOM, duplicate keys, `.`/`..` ids, non-R4 types. */
  const hostile = fc
    .tuple(
      resource,
      fc.constantFrom('1e400', '-1e400', '"\\ud800"', '"a\\udfffb"', '{"x":1,"x":2}', '".."', '"."'),
      fc.constantFrom('id', 'valueQuantity', 'status', 'meta', 'resourceType', 'birthDate'),
      fc.boolean(),
    )
    .map(([r, value, key, bom]) => {
      const text = JSON.stringify(r).replace(/^\{/, `{"${key}":${value},`);
      // A duplicate of the key just inserted when the resource already has it; a BOM sometimes.
      return (bom ? '\u00ef\u00bb\u00bf' : '') + text;
    });
  const bodyText = fc.oneof(
    { weight: 2, arbitrary: hostile },
    {
      weight: 5,
      arbitrary: fc.oneof(mutated, bundle, notification, json).map((v) => JSON.stringify(v) ?? 'null'),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')) },
    { weight: 1, arbitrary: fc.constant('') },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 256 * 1024, max: 400 * 1024 })
        .map((n) => JSON.stringify({ resourceType: 'Basic', id: 'big', note: 'x'.repeat(n) })),
    },
  );
  const segment = fc.oneof(
    fc.constantFrom('Observation', 'Patient', 'Bundle', '123', 'a.b-c', '%2e%2e', '%2E', 'Object', 'patient'),
    fc.string({ maxLength: 70 }).map(encodeURIComponent),
  );
  const path = fc.oneof(
    fc.constant('/fhir'),
    segment.map((t) => `/fhir/${t}`),
    fc.tuple(segment, segment).map(([t, i]) => `/fhir/${t}/${i}`),
    fc.constant('/fhir/Observation/x/_history/1'),
  );
  const method = fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'GET');
  /** Mostly routes that exist (so the handlers, not the router, see the input), some that do not. */
  const route = fc.oneof(
    { weight: 3, arbitrary: fc.constant(['POST', '/fhir'] as const) },
    { weight: 2, arbitrary: segment.map((t) => ['POST', `/fhir/${t}`] as const) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom('PUT', 'POST', 'DELETE'), segment, segment)
        .map(([m, t, i]) => [m, `/fhir/${t}/${i}`] as const),
    },
    { weight: 3, arbitrary: resource.map((r) => ['PUT', `/fhir/${r.resourceType}/${r.id}`] as const) },
    { weight: 1, arbitrary: fc.tuple(method, path) },
  );
  const contentType = fc.constantFrom(
    'application/fhir+json',
    'application/json',
    'application/fhir+json; charset=utf-8',
    'application/json+fhir',
    'text/plain',
    'application/fhir+xml',
    'multipart/form-data; boundary=x',
    undefined,
  );
  const auth = fc.constantFrom(
    'bearer',
    'bearer',
    'bearer',
    'hmac',
    'none',
    'wrong',
    'hmac-empty',
    'medplum-delete',
  );

  it(
    `answers ${RUNS.toLocaleString('en')} fuzzed requests with 2xx receipts or 4xx OperationOutcomes, writing nothing when it refuses`,
    { timeout: 600_000 },
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(route, bodyText, contentType, auth, async ([m, url], body, type, how) => {
          const headers: Record<string, string> = {};
          if (type) headers['content-type'] = type;
          if (how === 'bearer') headers.authorization = `Bearer ${BEARER}`;
          if (how === 'wrong') headers.authorization = 'Bearer not-the-secret-at-all';
          if (how === 'hmac') headers['x-signature'] = signBody(HMAC_SECRET, Buffer.from(body, 'latin1'));
          // A captured signature of nothing, replayed on anything.
          if (how === 'hmac-empty') headers['x-signature'] = signBody(HMAC_SECRET, '');
          if (how === 'medplum-delete') {
            headers['x-signature'] = signBody(HMAC_SECRET, Buffer.from(body, 'latin1'));
            headers['x-medplum-interaction'] = 'delete';
            headers['x-medplum-deleted-resource'] = url.split('/').slice(2, 4).join('/') || 'Patient/..';
          }
          const before = await app.outbox.counts();
          const res = await app.inject({
            method: m as 'POST',
            url,
            headers,
            payload: m === 'GET' ? undefined : Buffer.from(body, 'latin1'),
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          assert.ok(res.statusCode < 500, `5xx for ${m} ${url}: ${res.body.slice(0, 300)}`);
          // The review's shapes are never accepted where a body is read.
          if (
            (m === 'POST' || m === 'PUT') &&
            (body.startsWith('\u00ef\u00bb\u00bf') ||
              /1e400|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|"x":1,"x":2/.test(body))
          )
            assert.ok(res.statusCode >= 400, `accepted ${m} ${url} ${body.slice(0, 120)}`);
          if (how === 'hmac-empty' && m !== 'GET')
            assert.ok(res.statusCode >= 400, `empty-body signature accepted: ${m} ${url}`);
          const answer = JSON.parse(res.body) as
            | { resourceType: 'OperationOutcome'; issue: unknown[] }
            | {
                resourceType: 'Bundle';
                type: string;
                entry: { response: { outcome: { resourceType: string; issue: unknown[] } } }[];
              };
          // A topic notification's receipt is wrapped in a batch-response Bundle; errors are bare OperationOutcomes.
          const outcome =
            answer.resourceType === 'Bundle' && res.statusCode < 300 && answer.type === 'batch-response'
              ? answer.entry[0]!.response.outcome
              : answer;
          assert.equal(outcome.resourceType, 'OperationOutcome');
          assert.ok(Array.isArray(outcome.issue) && outcome.issue.length > 0);
          if (res.statusCode >= 400) {
            assert.deepEqual(
              (await app.outbox.counts()).records,
              before.records,
              `a refused request wrote something (${res.statusCode})`,
            );
          }
        }),
        { numRuns: RUNS },
      );
      process.stdout.write(
        `# statuses: ${[...statuses]
          .sort()
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}\n`,
      );
      assert.ok(
        statuses.get(400) && statuses.get(401) && statuses.get(413) && statuses.get(415) && statuses.get(422),
        'every refusal class was exercised',
      );
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      const ok = await app.inject({
        method: 'POST',
        url: '/fhir',
        headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [{ resource: resources[0] }],
        }),
      });
      assert.equal(ok.statusCode, 202, 'still accepts good pushes');
    },
  );
});
