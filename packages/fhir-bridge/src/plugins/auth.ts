/**
 * Per-source authentication of pushes. Three ways a source proves a request is its own:
 *
 * - **bearer** — `Authorization: Bearer <secret>` (what HAPI's `Subscription.channel.header`
 *   sends). Checked entirely from the headers, before a byte of the body is read.
 * - **hmac, scheme `body`** — `X-Signature: <hex HMAC-SHA256(secret, raw body)>`, the way Medplum
 *   signs subscription deliveries. It covers the body only: the signature of an empty body (or of
 *   `{}`) is a constant, so a request without a body is refused, and a delete (DELETE, or
 *   Medplum's `{}` with `X-Medplum-Interaction: delete`) is recorded only when the source itself
 *   confirms the resource is gone (ingest/service.ts). Replays of a signed resource are the same
 *   version (anchored once).
 * - **hmac, scheme `request`** — for senders that can: `X-Ehr-Signature: t=<unix seconds>,v1=<hex>`
 *   where v1 = HMAC-SHA256(secret, `ehr-anchor-push/v1\n<METHOD>\n<path and query>\n<t>\n` + raw body).
 *   It covers the method, the path (so the resource), the time and the body: a request older or
 *   newer than `maxSkewSec` is refused before its body is read, and a signature is accepted once
 *   (replay cache over the freshness window).
 *
 * Order of checks (onRequest, before the body): content type (415), then the credential's form:
 * a wrong bearer, a missing credential or a stale timestamp → 401 with `Connection: close`, the body
 * never read. After the body (preHandler): HMACs over the exact bytes received (constant time).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SourceConfig } from '../config.js';
import { HttpError, unauthorized } from '../errors.js';

/** Media types a push may carry (anything else with a body → 415, before authentication). */
export const FHIR_CONTENT_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];

/** Header of the `request` scheme. */
export const REQUEST_SIGNATURE_HEADER = 'x-ehr-signature';
const REQUEST_SIGNATURE_PREFIX = 'ehr-anchor-push/v1';

/** Constant-time string equality (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** `X-Signature` value for a body: lowercase hex HMAC-SHA256 (Medplum's format). */
export function signBody(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * `X-Ehr-Signature` value of the `request` scheme for one request (what a sender computes):
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "ehr-anchor-push/v1\n" + METHOD + "\n" + path + "\n" + t + "\n" + body)>`.
 * `path` is the request target as sent (path and query, e.g. `/fhir/Patient/1`).
 */
export function signRequest(
  secret: string,
  request: { method: string; path: string; body?: Uint8Array | string; timestamp?: number },
): string {
  const t = request.timestamp ?? Math.floor(Date.now() / 1000);
  return `t=${t},v1=${requestMac(secret, request.method, request.path, String(t), request.body ?? '')}`;
}

function requestMac(
  secret: string,
  method: string,
  path: string,
  t: string,
  body: Uint8Array | string,
): string {
  return createHmac('sha256', secret)
    .update(`${REQUEST_SIGNATURE_PREFIX}\n${method.toUpperCase()}\n${path}\n${t}\n`)
    .update(body)
    .digest('hex');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

/** True when the request announces a body (a length above 0, or a chunked one). */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

function mediaType(request: FastifyRequest): string {
  return String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** How the request was authenticated (decides how far its content is trusted). */
export type PushAuth = 'bearer' | 'hmac-body' | 'hmac-request' | 'none';

interface Pending {
  /** Sources whose HMAC header is present: checked once the body is read. */
  hmac: { source: SourceConfig; value: string; t?: string }[];
}

/** Signatures of the `request` scheme seen within their freshness window (replays refused). */
class ReplayCache {
  readonly #seen = new Map<string, number>();
  constructor(readonly max = 100_000) {}
  /** True the first time a signature is seen (until it expires); false for a replay. */
  add(signature: string, expiresAt: number, now = Date.now()): boolean {
    if (this.#seen.size >= this.max) {
      for (const [k, exp] of this.#seen) if (exp <= now) this.#seen.delete(k);
      // Still full of live entries: drop the oldest (their timestamps run out first anyway).
      while (this.#seen.size >= this.max) this.#seen.delete(this.#seen.keys().next().value!);
    }
    const exp = this.#seen.get(signature);
    if (exp !== undefined && exp > now) return false;
    this.#seen.set(signature, expiresAt);
    return true;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated source of a push (set by the auth plugin). */
    source?: SourceConfig;
    /** How the source authenticated. */
    pushAuth?: PushAuth;
  }
}

/** 401 before the body: the connection is closed after the answer, so the body is never read. */
function refuseEarly(reply: FastifyReply, error: HttpError): never {
  void reply.header('connection', 'close');
  throw error;
}

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('source', undefined);
  app.decorateRequest('pushAuth', undefined);
  const sources = app.config.sources;
  const open = sources.find((s) => s.auth.type === 'none');
  const replays = new ReplayCache();
  const pending = new WeakMap<FastifyRequest, Pending>();

  const operatorSecrets = [
    ...(app.config.operatorToken ? [app.config.operatorToken] : []),
    ...sources.flatMap((s) => (s.auth.type === 'bearer' ? [s.auth.secret] : [])),
  ];
  const isOperator = (request: FastifyRequest): boolean => {
    const token = /^bearer\s+(.+)$/i.exec(header(request, 'authorization')?.trim() ?? '')?.[1];
    let ok = false;
    if (token) for (const secret of operatorSecrets) ok = safeEqual(token, secret) || ok;
    return ok;
  };
  app.decorate('isOperator', isOperator);
  app.decorate('requireOperator', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isOperator(request))
      refuseEarly(
        reply,
        unauthorized('operator credential required (Authorization: Bearer <operator token>)'),
      );
  });

  app.decorate('requireSource', {
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      if (hasBody(request) && !FHIR_CONTENT_TYPES.includes(mediaType(request))) {
        void reply.header('connection', 'close');
        throw new HttpError(
          415,
          'not-supported',
          'content type must be application/fhir+json or application/json',
        );
      }
      const authorization = header(request, 'authorization');
      if (authorization !== undefined) {
        const token = /^bearer\s+(.+)$/i.exec(authorization.trim())?.[1];
        let found: SourceConfig | undefined;
        // Check every source (no early exit), so timing does not tell which one matched.
        if (token)
          for (const s of sources)
            if (s.auth.type === 'bearer' && safeEqual(token, s.auth.secret)) found ??= s;
        if (!found) refuseEarly(reply, unauthorized());
        request.source = found;
        request.pushAuth = 'bearer';
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const hmac: Pending['hmac'] = [];
      for (const s of sources) {
        if (s.auth.type !== 'hmac') continue;
        if (s.auth.scheme === 'request') {
          const value = header(request, REQUEST_SIGNATURE_HEADER);
          if (!value) continue;
          const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/i.exec(value.trim());
          if (!m) refuseEarly(reply, unauthorized('malformed X-Ehr-Signature (t=<unix seconds>,v1=<hex>)'));
          if (Math.abs(now - Number(m[1])) > s.auth.maxSkewSec)
            refuseEarly(reply, unauthorized('signature timestamp outside the accepted window'));
          hmac.push({ source: s, value: m[2]!.toLowerCase(), t: m[1]! });
        } else {
          const value = header(request, s.auth.header);
          if (!value) continue;
          const signature = value
            .trim()
            .toLowerCase()
            .replace(/^sha256=/, '');
          if (!/^[0-9a-f]{64}$/.test(signature)) refuseEarly(reply, unauthorized());
          hmac.push({ source: s, value: signature });
        }
      }
      if (hmac.length) {
        pending.set(request, { hmac });
        return;
      }
      if (open) {
        request.source = open;
        request.pushAuth = 'none';
        return;
      }
      refuseEarly(reply, unauthorized());
    },
    /** After the raw body is read: HMACs over it. */
    preHandler: async (request: FastifyRequest) => {
      if (request.source) return;
      const todo = pending.get(request);
      if (!todo) throw unauthorized();
      const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
      let found: { source: SourceConfig; auth: PushAuth; signature: string; t?: string } | undefined;
      for (const h of todo.hmac) {
        const s = h.source;
        if (s.auth.type !== 'hmac') continue;
        const expected =
          h.t !== undefined
            ? requestMac(s.auth.secret, request.method, request.url, h.t, raw ?? '')
            : signBody(s.auth.secret, raw ?? '');
        if (safeEqual(h.value, expected))
          found ??= {
            source: s,
            auth: h.t !== undefined ? 'hmac-request' : 'hmac-body',
            signature: h.value,
            t: h.t,
          };
      }
      if (!found) throw unauthorized();
      if (found.auth === 'hmac-body' && (!raw || raw.length === 0))
        throw unauthorized(
          'a body-only HMAC cannot authenticate a request without a body (its signature is a constant): sign requests with X-Ehr-Signature, or use a bearer secret',
        );
      if (found.auth === 'hmac-request') {
        const s = found.source.auth as { maxSkewSec: number };
        if (!replays.add(`${found.source.id}:${found.signature}`, (Number(found.t) + s.maxSkewSec) * 1000))
          throw unauthorized('this signed request was already received (replay)');
      }
      request.source = found.source;
      request.pushAuth = found.auth;
    },
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest of the operator routes (`/status`, `/anchors`, `POST /dead-letters/retry`): the
     * `operatorToken` or a source's bearer secret, else 401 — before anything is looked up, so a
     * stranger learns nothing (not even whether a resource exists).
     */
    requireOperator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** True when the request carries the operator credential (see requireOperator). */
    isOperator: (request: FastifyRequest) => boolean;
    requireSource: {
      onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
      preHandler: (request: FastifyRequest) => Promise<void>;
    };
  }
}
