/**
 * Security review findings (issue 16), each reproduced against the real bridge over HTTP on real
 * anvil + Kubo: the attack as it was tried, and the answer the bridge gives now. The table of
 * attacks and answers is in the README ("Threat model").
 */
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Wallet } from 'ethers';
import { SiweMessage } from 'siwe';
import { after, before, describe, it } from 'node:test';
import { signBody, signRequest } from '../src/plugins/auth.js';
import { BEARER, HMAC_SECRET, bridgeFor, push, startEnv, type Env } from './helpers.js';

/** An HTTP request with headers fetch refuses to set (Host) and a chosen local address. */
function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

interface Challenge {
  nonce: string;
  domain: string;
  uri: string;
  chainId: number;
  statement: string;
}

async function challenge(url: string, localAddress = '127.0.0.1', origin?: string): Promise<Challenge> {
  const res = await http(`${url}/auth/nonce`, {
    method: 'POST',
    localAddress,
    ...(origin ? { headers: { origin } } : {}),
  });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Challenge;
}

async function signedMessage(
  wallet: { address: string; signMessage(message: string): Promise<string> },
  fields: Partial<SiweMessage> & { nonce: string; chainId: number },
) {
  const message = new SiweMessage({
    domain: 'portal.example.org',
    uri: 'https://portal.example.org',
    address: wallet.address,
    statement: 'Sign in to read health records you are allowed to see.',
    version: '1',
    issuedAt: new Date().toISOString(),
    ...fields,
  }).prepareMessage();
  return { message, signature: await wallet.signMessage(message) };
}

const REQUEST_SECRET = 'test-request-signing-secret-0123456789';

type Bridge = Awaited<ReturnType<typeof bridgeFor>>;

async function raw(url: string, init: RequestInit & { headers?: Record<string, string> }) {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    outcome: JSON.parse(text) as { issue: { code: string; diagnostics?: string }[] },
  };
}

describe('security: hostile input (findings 4, 5)', () => {
  let env: Env;
  let bridge: Bridge;

  before(async () => {
    env = await startEnv();
    bridge = await bridgeFor(env, 'input', { logLevel: 'warn' });
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  const json = { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' };

  it(
    'closes a slow sender with the default settings (10 s window, 1 KiB per window) long before its body is in',
    { timeout: 120_000 },
    async () => {
      assert.equal(bridge.config.limits.slowSenderWindowMs, 10_000, 'the default window');
      const socket = connect(Number(new URL(bridge.url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `PUT /fhir/Patient/slow HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BEARER}\r\ncontent-type: application/fhir+json\r\ncontent-length: 2000\r\n\r\n{`,
      );
      let closed = false;
      socket.once('close', () => (closed = true));
      // 1 byte every 250 ms: the body would take over 8 minutes.
      let sent = 0;
      while (!closed && sent < 2000) {
        socket.write(' ');
        sent++;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(closed && sent < 2000, `closed after ${sent} bytes`);
      socket.destroy();
    },
  );

  it('refuses the ids . and .. as resource ids and version ids, in the path, the body and references (400, nothing written)', async () => {
    const before = await bridge.app.outbox.counts();
    for (const id of ['%2e%2e', '%2E', '.', '..']) {
      const body = { resourceType: 'Patient', id: decodeURIComponent(id) };
      const put = await raw(`${bridge.url}/fhir/Patient/${id}`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify(body),
      });
      // `/fhir/Patient/.` and `..` are normalised away by URL parsing before they leave fetch: 404 (no route) or 400.
      assert.ok(put.status === 400 || put.status === 404, `PUT Patient/${id}: ${put.status}`);
      const empty = await raw(`${bridge.url}/fhir/Patient/${id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${BEARER}` },
      });
      assert.ok(
        empty.status === 400 || empty.status === 404,
        `id-only notification Patient/${id}: ${empty.status} (was 503)`,
      );
    }
    for (const bad of [
      { id: '..' },
      { id: '.' },
      { id: 'ok', meta: { versionId: '..' } },
      { id: 'ok', meta: { versionId: '.' } },
    ]) {
      const res = await push(bridge.url, '/fhir', {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Observation', status: 'final', ...bad } }],
      });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(
        res.body.issue[0]!.diagnostics!,
        /Bundle\.entry\[0\]\.resource\.(id|meta\.versionId): not a FHIR id/,
      );
    }
    const history = await push(bridge.url, '/fhir', {
      resourceType: 'Bundle',
      type: 'history',
      entry: [{ fullUrl: 'http://x/fhir/Patient/..', request: { method: 'DELETE', url: 'Patient/..' } }],
    });
    assert.equal(history.status, 400, 'a DELETE of Patient/.. in a Bundle');
    assert.deepEqual((await bridge.app.outbox.counts()).records, before.records);
  });

  it('takes only FHIR R4 resource types (Object → 400, was 202)', async () => {
    const res = await push(
      bridge.url,
      '/fhir/Object/1',
      { resourceType: 'Object', id: '1' },
      { method: 'PUT' },
    );
    assert.equal(res.status, 400);
    assert.match(res.body.issue[0]!.diagnostics!, /not a FHIR R4 resource type/);
    const inBody = await push(bridge.url, '/fhir', { resourceType: 'Object', id: '1' });
    assert.equal(inBody.status, 400);
    assert.equal(
      (
        await push(
          bridge.url,
          '/fhir/Patient/ok-1',
          { resourceType: 'Patient', id: 'ok-1' },
          { method: 'PUT' },
        )
      ).status,
      202,
    );
  });

  it('answers 1e400 and a lone surrogate with 400 naming the field (was 500)', async () => {
    const cases: [string, RegExp][] = [
      [
        '{"resourceType":"Observation","id":"n1","status":"final","valueQuantity":{"value":1e400}}',
        /^Observation\.valueQuantity\.value: number out of range/,
      ],
      [
        '{"resourceType":"Observation","id":"n2","status":"final","valueQuantity":{"value":-1e400}}',
        /^Observation\.valueQuantity\.value: number out of range/,
      ],
      [
        '{"resourceType":"Patient","id":"s1","name":[{"family":"\\ud800"}]}',
        /^Patient\.name\[0\]\.family: string with a lone UTF-16 surrogate/,
      ],
      [
        '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"s2","name":[{"given":["a","\\udfff"]}]}}]}',
        /^Bundle\.entry\[0\]\.resource\.name\[0\]\.given\[1\]: string with a lone/,
      ],
    ];
    for (const [body, message] of cases) {
      const url = body.includes('"Bundle"')
        ? '/fhir'
        : `/fhir/${/"resourceType":"(\w+)"/.exec(body)![1]}/${/"id":"(\w+)"/.exec(body)![1]}`;
      const res = await raw(`${bridge.url}${url}`, {
        method: url === '/fhir' ? 'POST' : 'PUT',
        headers: json,
        body,
      });
      assert.equal(res.status, 400, body);
      assert.match(res.outcome.issue[0]!.diagnostics!, message);
    }
  });

  it('refuses a UTF-8 byte order mark and duplicate JSON keys (400; both were accepted silently)', async () => {
    const bom = await raw(`${bridge.url}/fhir/Patient/b1`, {
      method: 'PUT',
      headers: json,
      body: Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('{"resourceType":"Patient","id":"b1"}'),
      ]),
    });
    assert.equal(bom.status, 400);
    assert.match(bom.outcome.issue[0]!.diagnostics!, /byte order mark/);
    const dup = await raw(`${bridge.url}/fhir/Patient/d1`, {
      method: 'PUT',
      headers: json,
      body: '{"resourceType":"Patient","id":"d1","birthDate":"1970-01-01","birthDate":"1980-01-01"}',
    });
    assert.equal(dup.status, 400);
    assert.match(dup.outcome.issue[0]!.diagnostics!, /^Patient\.birthDate: duplicate key/);
    // The same strictness on the read API's JSON bodies.
    const session = await raw(`${bridge.url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"a","message":"b","signature":"0x"}',
    });
    assert.equal(session.status, 400);
    assert.match(session.outcome.issue[0]!.diagnostics!, /duplicate key/);
    // A colon inside strings is not a member separator: this one is fine.
    const ok = await raw(`${bridge.url}/fhir/Patient/c1`, {
      method: 'PUT',
      headers: json,
      body: '{"resourceType":"Patient","id":"c1","name":[{"text":"a:b \\" : c"}]}',
    });
    assert.equal(ok.status, 202);
  });
});

describe('security: push authentication (findings 2, 3, 6)', () => {
  let env: Env;
  let bridge: Bridge;

  before(async () => {
    env = await startEnv();
    bridge = await bridgeFor(env, 'push-auth', {
      logLevel: 'warn',
      sources: [
        { id: 'hapi', auth: { type: 'bearer', secret: BEARER } },
        { id: 'medplum', auth: { type: 'hmac', secret: HMAC_SECRET } },
        { id: 'signed', auth: { type: 'hmac', secret: REQUEST_SECRET, scheme: 'request' } },
      ],
    });
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  it('refuses a captured empty-body signature replayed as a DELETE of any resource (401, was 202: tombstoned)', async () => {
    const before = await bridge.app.outbox.counts();
    const captured = signBody(HMAC_SECRET, '');
    for (const path of ['/fhir/Patient/any-patient', '/fhir/Condition/never-existed']) {
      const res = await raw(`${bridge.url}${path}`, {
        method: 'DELETE',
        headers: { 'x-signature': captured },
      });
      assert.equal(res.status, 401, path);
      assert.match(res.outcome.issue[0]!.diagnostics!, /without a body/);
    }
    // Also as an empty notification (the signature of nothing is the same constant).
    const empty = await raw(`${bridge.url}/fhir/Patient/x`, {
      method: 'PUT',
      headers: { 'x-signature': captured },
    });
    assert.equal(empty.status, 401);
    assert.deepEqual((await bridge.app.outbox.counts()).records, before.records);
  });

  it('answers 415 before authentication for a body of another media type (was: HMAC checked over an empty buffer)', async () => {
    const body = '{"resourceType":"Patient","id":"t1"}';
    const res = await raw(`${bridge.url}/fhir/Patient/t1`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'x-signature': signBody(HMAC_SECRET, '') },
      body,
    });
    assert.equal(res.status, 415);
    const signed = await raw(`${bridge.url}/fhir/Patient/t1`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'x-signature': signBody(HMAC_SECRET, body) },
      body,
    });
    assert.equal(signed.status, 415);
  });

  it("records a Medplum delete ({} + X-Medplum-Deleted-Resource) only with the source's confirmation: refused without fhirBaseUrl (422, was 400)", async () => {
    const before = await bridge.app.outbox.counts();
    const res = await raw(`${bridge.url}/fhir`, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        'x-signature': signBody(HMAC_SECRET, '{}'),
        'x-medplum-interaction': 'delete',
        'x-medplum-deleted-resource': 'Patient/any-patient',
      },
      body: '{}',
    });
    assert.equal(res.status, 422);
    assert.match(res.outcome.issue[0]!.diagnostics!, /configure fhirBaseUrl/);
    const malformed = await raw(`${bridge.url}/fhir`, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        'x-signature': signBody(HMAC_SECRET, '{}'),
        'x-medplum-interaction': 'delete',
        'x-medplum-deleted-resource': 'Patient/..',
      },
      body: '{}',
    });
    assert.equal(malformed.status, 400);
    assert.deepEqual((await bridge.app.outbox.counts()).records, before.records);
  });

  it('takes request signatures (method, path, time, body) once, fresh, and only for that request', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', id: 'signed-1' });
    const path = '/fhir/Patient/signed-1';
    const sig = signRequest(REQUEST_SECRET, { method: 'PUT', path, body });
    const headers = { 'content-type': 'application/fhir+json', 'x-ehr-signature': sig };
    assert.equal((await raw(`${bridge.url}${path}`, { method: 'PUT', headers, body })).status, 202);
    const replay = await raw(`${bridge.url}${path}`, { method: 'PUT', headers, body });
    assert.equal(replay.status, 401, 'the same signed request again');
    assert.match(replay.outcome.issue[0]!.diagnostics!, /replay/);
    // The signature of one resource's request does not cover another path or method.
    const other = await raw(`${bridge.url}/fhir/Patient/signed-2`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/fhir+json',
        'x-ehr-signature': signRequest(REQUEST_SECRET, { method: 'PUT', path, body: '' }),
      },
    });
    assert.equal(other.status, 401);
    const stale = signRequest(REQUEST_SECRET, {
      method: 'PUT',
      path,
      body,
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    const old = await raw(`${bridge.url}${path}`, {
      method: 'PUT',
      headers: { ...headers, 'x-ehr-signature': stale },
      body,
    });
    assert.equal(old.status, 401);
    assert.match(old.outcome.issue[0]!.diagnostics!, /window/);
    // A DELETE signed this way names its resource: recorded at once.
    const del = '/fhir/Patient/signed-1';
    const deleted = await raw(`${bridge.url}${del}`, {
      method: 'DELETE',
      headers: { 'x-ehr-signature': signRequest(REQUEST_SECRET, { method: 'DELETE', path: del }) },
    });
    assert.equal(deleted.status, 202);
    const versions = await bridge.app.outbox.versions('Patient', 'signed-1');
    assert.deepEqual(versions.map((v) => v.deleted).sort(), [false, true]);
  });

  it(
    'answers a wrong credential with 401 before reading the body, and closes the connection (memory bounded)',
    { timeout: 60_000 },
    async () => {
      const size = 30 * 1024 * 1024;
      for (const credential of [
        `authorization: Bearer wrong-secret-${'x'.repeat(20)}`,
        '',
        `x-ehr-signature: ${signRequest(REQUEST_SECRET, { method: 'PUT', path: '/fhir/Patient/big', timestamp: 1 })}`,
      ]) {
        const memory = process.memoryUsage();
        const socket = connect(Number(new URL(bridge.url).port), '127.0.0.1');
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        const answer = new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
          socket.on('close', () => resolve(text));
          socket.on('error', () => undefined);
        });
        socket.write(
          `PUT /fhir/Patient/big HTTP/1.1\r\nhost: x\r\ncontent-type: application/fhir+json\r\ncontent-length: ${size}\r\n${credential ? `${credential}\r\n` : ''}\r\n`,
        );
        // Send the body slowly: the answer must come (and the connection close) long before it is all sent.
        let sent = 0;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let closed = false;
        socket.once('close', () => (closed = true));
        while (!closed && sent < size) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
          sent += chunk.length;
          if (sent > 4 * 1024 * 1024) break;
        }
        const text = await answer;
        assert.match(text, /^HTTP\/1\.1 401 /, credential || '(no credential)');
        assert.match(text, /connection: close/i);
        assert.ok(sent < size, `closed after ${sent} of ${size} bytes`);
        const grown = process.memoryUsage().arrayBuffers - memory.arrayBuffers;
        assert.ok(grown < 8 * 1024 * 1024, `buffers grew by ${grown} bytes (the body was not kept)`);
      }
    },
  );
});

describe('security: Sign-In with Ethereum and CORS (finding 1)', () => {
  let env: Env;
  let bridge: Bridge;
  const wallet = Wallet.createRandom();

  before(async () => {
    env = await startEnv();
    bridge = await bridgeFor(env, 'siwe', {
      logLevel: 'warn',
      read: { siweDomains: ['https://portal.example.org'] },
    });
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  async function session(
    body: { message: string; signature: string },
    headers: Record<string, string> = {},
    localAddress = '127.0.0.1',
  ) {
    return http(`${bridge.url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      localAddress,
    });
  }

  it('refuses a message signed for another domain even when the relay sets Host to that domain (401, was a session)', async () => {
    const c = await challenge(bridge.url);
    assert.equal(c.domain, 'portal.example.org', 'the challenge names the configured portal, not the Host');
    assert.equal(c.uri, 'https://portal.example.org');
    const phished = await signedMessage(wallet, {
      domain: 'evil.example',
      uri: 'https://evil.example',
      nonce: c.nonce,
      chainId: c.chainId,
    });
    const res = await session(phished, { host: 'evil.example', origin: 'https://evil.example' });
    assert.equal(res.status, 401);
    assert.match(res.body, /another site/);
    // A Host header does not change the challenge either.
    const hosted = await http(`${bridge.url}/auth/nonce`, {
      method: 'POST',
      headers: { host: 'evil.example' },
    });
    assert.equal((JSON.parse(hosted.body) as Challenge).domain, 'portal.example.org');
  });

  it('checks uri, chainId, issuedAt, expirationTime, notBefore and the nonce (one-time, bound to the client that asked)', async () => {
    const cases: [string, (c: Challenge) => Partial<SiweMessage>, RegExp][] = [
      ['uri on another origin', () => ({ uri: 'https://evil.example/login' }), /another site/],
      ['uri over http', () => ({ uri: 'http://portal.example.org' }), /another site/],
      ['another chain', (c) => ({ chainId: c.chainId + 1 }), /another chain/],
      [
        'issued an hour ago',
        () => ({ issuedAt: new Date(Date.now() - 3_600_000).toISOString() }),
        /issuedAt/,
      ],
      [
        'issued in the future',
        () => ({ issuedAt: new Date(Date.now() + 3_600_000).toISOString() }),
        /issuedAt/,
      ],
      ['expired', () => ({ expirationTime: new Date(Date.now() - 1_000).toISOString() }), /expired/],
      [
        'not valid yet',
        () => ({ notBefore: new Date(Date.now() + 3_600_000).toISOString() }),
        /not valid yet/,
      ],
      ['unknown nonce', () => ({ nonce: 'a'.repeat(32) }), /nonce/],
    ];
    for (const [name, change, message] of cases) {
      const c = await challenge(bridge.url);
      const res = await session(
        await signedMessage(wallet, { nonce: c.nonce, chainId: c.chainId, ...change(c) }),
      );
      assert.equal(res.status, 401, name);
      assert.match(res.body, message, name);
    }
    // A nonce asked for from 127.0.0.2 is useless from 127.0.0.1.
    const elsewhere = await challenge(bridge.url, '127.0.0.2');
    const stolen = await session(
      await signedMessage(wallet, { nonce: elsewhere.nonce, chainId: elsewhere.chainId }),
    );
    assert.equal(stolen.status, 401);
    assert.match(stolen.body, /another client/);
    // The good case, then its replay.
    const c = await challenge(bridge.url);
    const good = await signedMessage(wallet, { nonce: c.nonce, chainId: c.chainId });
    assert.equal((await session(good)).status, 200);
    const again = await session(good);
    assert.equal(again.status, 401);
    assert.match(again.body, /used/);
  });

  it('keeps sign-in open for others while one client floods POST /auth/nonce (was: locked for everyone)', async () => {
    for (let i = 0; i < 200; i++) await challenge(bridge.url, '127.0.0.3');
    const sessions = bridge.app.read.side.deps.sessions;
    assert.ok(sessions.pendingNonces < 100, `outstanding nonces bounded (${sessions.pendingNonces})`);
    const c = await challenge(bridge.url, '127.0.0.4');
    assert.equal(
      (await session(await signedMessage(wallet, { nonce: c.nonce, chainId: c.chainId }), {}, '127.0.0.4'))
        .status,
      200,
    );
  });

  it('allows CORS only for the configured portal origins (was: any origin)', async () => {
    const preflight = (origin: string) =>
      http(`${bridge.url}/auth/session`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    assert.equal(
      (await preflight('https://portal.example.org')).headers['access-control-allow-origin'],
      'https://portal.example.org',
    );
    assert.equal((await preflight('https://evil.example')).headers['access-control-allow-origin'], undefined);
    assert.equal(
      (await preflight('http://localhost:5173')).headers['access-control-allow-origin'],
      undefined,
    );
  });
});

describe('security: rate limits and slow senders (finding 6)', () => {
  let env: Env;
  let bridge: Bridge;

  before(async () => {
    env = await startEnv();
    bridge = await bridgeFor(env, 'limits', {
      logLevel: 'warn',
      limits: { rateLimit: true, perIp: 40, noncesPerIp: 5, perSource: 10, slowSenderWindowMs: 1_000 },
    });
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  it('answers 429 with Retry-After once a client exceeds its limit, per address, per route class and per source', async () => {
    const nonces: number[] = [];
    for (let i = 0; i < 7; i++)
      nonces.push(
        (await http(`${bridge.url}/auth/nonce`, { method: 'POST', localAddress: '127.0.0.5' })).status,
      );
    assert.deepEqual(nonces, [200, 200, 200, 200, 200, 429, 429]);
    const limited = await http(`${bridge.url}/auth/nonce`, { method: 'POST', localAddress: '127.0.0.5' });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After in seconds');
    const outcome = JSON.parse(limited.body) as { issue: { code: string; diagnostics: string }[] };
    assert.equal(outcome.issue[0]!.code, 'throttled');
    // Another client is not affected.
    assert.equal(
      (await http(`${bridge.url}/auth/nonce`, { method: 'POST', localAddress: '127.0.0.6' })).status,
      200,
    );
    // Per address on every route: 40 a minute.
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++)
      statuses.push((await http(`${bridge.url}/healthz`, { localAddress: '127.0.0.7' })).status);
    assert.equal(statuses.filter((s) => s === 429).length, 5);
    // Per source: 10 pushes a minute for the bearer source, from any address.
    const pushes: number[] = [];
    for (let i = 0; i < 12; i++)
      pushes.push(
        (
          await http(`${bridge.url}/fhir/Patient/rl-${i}`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' },
            body: JSON.stringify({ resourceType: 'Patient', id: `rl-${i}` }),
            localAddress: `127.0.1.${i + 1}`,
          })
        ).status,
      );
    assert.deepEqual(pushes, [...Array<number>(10).fill(202), 429, 429]);
  });

  it('leaves an idle keep-alive connection to the keep-alive timeout: a client reusing it after a window is served', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`${bridge.url}/healthz`, { agent, localAddress: '127.0.0.9' }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal((await get()).status, 200);
    // Idle for three slow-sender windows (1 s each here): not a slow sender, just a pooled connection.
    await new Promise((r) => setTimeout(r, 3_000));
    const again = await get();
    assert.deepEqual(again, { status: 200, reused: true });
    agent.destroy();
  });

  it(
    'closes a connection that sends its body too slowly (1 byte at a time), and one that never finishes its headers',
    { timeout: 60_000 },
    async () => {
      for (const partial of [
        `PUT /fhir/Patient/slow HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BEARER}\r\ncontent-type: application/fhir+json\r\ncontent-length: 1000\r\n\r\n{`,
        'PUT /fhir/Patient/slow HTTP/1.1\r\nhost: x\r\nx-slow: ',
      ]) {
        const socket = connect(Number(new URL(bridge.url).port), '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        socket.write(partial);
        let closed = false;
        socket.once('close', () => (closed = true));
        // One byte at a time, far below the minimum rate; the body would take minutes.
        let sent = 0;
        while (!closed && sent < 1000) {
          socket.write(' ');
          sent++;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(closed, 'the bridge closed the connection');
        assert.ok(sent < 1000, `closed after ${sent} slow bytes`);
        socket.destroy();
      }
    },
  );
});
