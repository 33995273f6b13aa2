/**
 * Load from strangers: rate limits (@fastify/rate-limit) and slow senders.
 *
 * - Per client address (IPv4, or the IPv6 /64), every route: `limits.perIp` requests a minute.
 * - Per session (read API, keyed by a hash of the bearer token) and per source (pushes, after
 *   authentication): `limits.perSession` / `limits.perSource` a minute, wherever they come from.
 * - `POST /auth/nonce`: `limits.noncesPerIp` a minute (and at most 16 outstanding per client, see
 *   read/session.ts).
 * A refused request gets 429 with `Retry-After` (seconds) and an OperationOutcome (`throttled`).
 * On by default unless the bridge listens on loopback only (`limits.rateLimit` decides).
 *
 * Slow senders: headers must arrive within one `slowSenderWindowMs`; while a request's body is
 * being received the connection must deliver at least `slowSenderMinBytes` per window, else it is
 * closed (1 byte every 5 s keeps a socket "active" but not useful). Stalls the bridge causes itself
 * (a body waiting in the request stream because a consumer is slow) do not count; idle keep-alive
 * connections are the keep-alive timeout's (Fastify's 72 s).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../config.js';
import { HttpError } from '../errors.js';
import { clientKey } from '../read/session.js';

const MINUTE = 60_000;

function throttled(after: number): HttpError {
  return new HttpError(
    429,
    'throttled',
    `too many requests: try again in ${Math.max(1, Math.ceil(after / 1000))} s`,
  );
}

function sessionKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^bearer\s+/i.test(header)) return undefined;
  return `session:${createHash('sha256')
    .update(header.replace(/^bearer\s+/i, ''))
    .digest('base64url')}`;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A preHandler that counts a push against its source's limit (no-op when limits are off). */
    limitSource: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** Route config for `POST /auth/nonce` (its own, lower per-address limit). */
    nonceRateLimit: { max: number; timeWindow: number } | undefined;
  }
}

export const limitsPlugin = fp(async (app: FastifyInstance) => {
  const limits = app.config.limits;
  const enabled = limits.rateLimit ?? !isLoopbackHost(app.config.host);
  watchSlowSenders(app, limits.slowSenderWindowMs, limits.slowSenderMinBytes);
  if (!enabled) {
    app.decorate('limitSource', async () => undefined);
    app.decorate('nonceRateLimit', undefined);
    return;
  }
  await app.register(rateLimit, {
    global: true,
    max: limits.perIp,
    timeWindow: MINUTE,
    keyGenerator: (request) => `ip:${clientKey(request.ip)}`,
    errorResponseBuilder: (_request, context) => throttled(context.ttl),
  });
  // One request may count against several limiters (address, then session or source): created
  // with createRateLimit, so each is applied on its own (rateLimit() hooks run once per request).
  const perSession = app.createRateLimit({
    max: limits.perSession,
    timeWindow: MINUTE,
    keyGenerator: (request) => sessionKey(request) ?? `ip:${clientKey(request.ip)}`,
  });
  const perSource = app.createRateLimit({
    max: limits.perSource,
    timeWindow: MINUTE,
    keyGenerator: (request) => `source:${request.source?.id ?? '-'}`,
  });
  const enforce = async (limiter: typeof perSession, request: FastifyRequest, reply: FastifyReply) => {
    const result = await limiter(request);
    if (result.isAllowed || !result.isExceeded) return;
    void reply.header('retry-after', String(result.ttlInSeconds));
    throw throttled(result.ttl);
  };
  app.addHook('onRequest', async (request, reply) => {
    // Sessions of the read API (pushes carry a source credential: counted per source instead).
    if (!request.url.startsWith('/fhir') && sessionKey(request)) await enforce(perSession, request, reply);
  });
  app.decorate('limitSource', async (request: FastifyRequest, reply: FastifyReply) => {
    await enforce(perSource, request, reply);
  });
  app.decorate('nonceRateLimit', { max: limits.noncesPerIp, timeWindow: MINUTE });
});

/**
 * Closes connections whose request arrives slower than `minBytes` per `windowMs` (see the file
 * comment). A connection is watched from its first byte until its request's body is complete, and
 * again once bytes of a next request arrive after an answer. An idle keep-alive connection (no byte
 * since the last answer) is left to the server's keep-alive timeout (Fastify's 72 s): clients such
 * as HAPI's delivery pool reuse those, and closing them early makes deliveries fail.
 */
function watchSlowSenders(app: FastifyInstance, windowMs: number, minBytes: number): void {
  const server = app.server;
  server.headersTimeout = windowMs;
  const watched = new Map<Socket, { req?: IncomingMessage; bytes: number; at: number; idle: boolean }>();
  server.on('connection', (socket: Socket) => {
    watched.set(socket, { bytes: 0, at: Date.now(), idle: false });
    socket.once('close', () => watched.delete(socket));
  });
  app.addHook('onRequest', async (request, reply) => {
    const socket = request.raw.socket;
    const watch = watched.get(socket);
    if (!watch) return;
    watch.req = request.raw;
    watch.idle = false;
    watch.bytes = socket.bytesRead;
    watch.at = Date.now();
    reply.raw.once('finish', () => {
      // Answered: the connection waits for a next request; idle until its first byte.
      if (watch.req !== request.raw) return;
      watch.req = undefined;
      watch.idle = true;
      watch.bytes = socket.bytesRead;
      watch.at = Date.now();
    });
  });
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [socket, watch] of watched) {
        const req = watch.req;
        // Received in full (being processed), or the bridge's own consumer is behind: not the sender's fault.
        if (req && (req.complete || req.readableLength > 0)) {
          watch.bytes = socket.bytesRead;
          watch.at = now;
          continue;
        }
        if (watch.idle) {
          if (socket.bytesRead === watch.bytes) continue; // idle keep-alive: the keep-alive timeout's
          // A next request started arriving: watch it from now.
          watch.idle = false;
          watch.at = now;
          continue;
        }
        if (now - watch.at < windowMs) continue;
        if (socket.bytesRead - watch.bytes < minBytes) {
          watched.delete(socket);
          app.metrics.slowSenders.inc();
          socket.destroy();
          continue;
        }
        watch.bytes = socket.bytesRead;
        watch.at = now;
      }
    },
    Math.max(50, Math.min(1_000, windowMs / 4)),
  );
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
