/**
 * Per-source authentication of pushes: a bearer secret (`Authorization: Bearer …`, what HAPI's
 * `Subscription.channel.header` sends) or an HMAC-SHA256 signature of the raw body in a header
 * (`X-Signature: <hex>`, the way Medplum signs subscription deliveries). Comparisons are constant
 * time. The request's source is whichever configured source the credential belongs to.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SourceConfig } from '../config.js';
import { unauthorized } from '../errors.js';

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

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

/** The source a request's credentials belong to; throws 401 when none. */
export function authenticate(request: FastifyRequest, sources: SourceConfig[]): SourceConfig {
  const authorization = header(request, 'authorization');
  let found: SourceConfig | undefined;
  if (authorization && /^bearer\s+/i.test(authorization)) {
    const token = authorization.replace(/^bearer\s+/i, '').trim();
    // Check every source (no early exit), so timing does not tell which one matched.
    for (const s of sources) if (s.auth.type === 'bearer' && safeEqual(token, s.auth.secret)) found ??= s;
  }
  if (!found) {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    for (const s of sources) {
      if (s.auth.type !== 'hmac') continue;
      const given = header(request, s.auth.header);
      if (!given) continue;
      const signature = given
        .trim()
        .toLowerCase()
        .replace(/^sha256=/, '');
      if (safeEqual(signature, signBody(s.auth.secret, raw))) found ??= s;
    }
  }
  found ??= sources.find((s) => s.auth.type === 'none');
  if (!found) throw unauthorized();
  return found;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated source of a push (set by the auth plugin's preHandler). */
    source?: SourceConfig;
  }
}

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('source', undefined);
  const sources = app.config.sources;
  const hmacHeaders = [
    ...new Set(sources.flatMap((s) => (s.auth.type === 'hmac' ? [s.auth.header.toLowerCase()] : []))),
  ];
  const open = sources.some((s) => s.auth.type === 'none');
  app.decorate('requireSource', {
    /** Before the body is read: no credential at all → 401 without reading it. */
    onRequest: async (request: FastifyRequest) => {
      if (open) return;
      if (!header(request, 'authorization') && !hmacHeaders.some((h) => header(request, h)))
        throw unauthorized();
    },
    /** After the raw body is read: check the credential against it. */
    preHandler: async (request: FastifyRequest) => {
      request.source = authenticate(request, sources);
    },
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    requireSource: {
      onRequest: (request: FastifyRequest) => Promise<void>;
      preHandler: (request: FastifyRequest) => Promise<void>;
    };
  }
}
