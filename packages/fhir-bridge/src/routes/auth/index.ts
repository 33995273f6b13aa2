/** Sign-In with Ethereum: POST /auth/nonce, POST /auth/session, GET /auth/session. */
import { sessionSchema, siweChallengeSchema, siweSignInSchema } from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError } from '../../errors.js';
import { readErrorHandler } from '../../read/context.js';

/** The API's roles object (the internal `patient` flag is implied by `subjects`). */
function withoutFlag<T extends { patient: boolean }>(roles: T): Omit<T, 'patient'> {
  const { patient: _patient, ...rest } = roles;
  return rest;
}

export async function authRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side } = root.read;
  const sessions = side.deps.sessions;

  app.post(
    '/auth/nonce',
    {
      ...(root.nonceRateLimit ? { config: { rateLimit: root.nonceRateLimit } } : {}),
      schema: {
        tags: ['auth'],
        summary: 'A single-use nonce for an EIP-4361 message',
        response: { 200: siweChallengeSchema },
      },
    },
    async (req) => {
      const origin = sessions.challengeOrigin(
        typeof req.headers.origin === 'string' ? req.headers.origin : undefined,
      );
      if (!origin)
        throw new HttpError(503, 'transient', 'no sign-in origin is configured (read.siweDomains)');
      const { nonce, expiresAt } = sessions.nonce(req.ip);
      return {
        nonce,
        domain: new URL(origin).host,
        uri: origin,
        chainId: await side.deps.chainId(),
        statement: sessions.statement,
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  );

  app.post(
    '/auth/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a signed EIP-4361 message for a session token',
        body: siweSignInSchema,
        response: { 200: sessionSchema },
      },
    },
    async (req) => {
      const { token, address, expiresAt } = await sessions.signIn(
        req.body.message,
        req.body.signature,
        req.ip,
      );
      return {
        token,
        address: address as `0x${string}`,
        expiresAt: new Date(expiresAt).toISOString(),
        roles: withoutFlag(await side.chain.roles(address)),
      };
    },
  );

  app.get(
    '/auth/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'The current session with roles read from the chain now',
        security: [{ session: [] }],
        response: { 200: sessionSchema },
      },
    },
    async (req) => {
      const actor = await side.actor(req);
      const roles = withoutFlag(await side.chain.roles(actor.address));
      const header = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      const session = await sessions.verify(header);
      return {
        address: actor.address as `0x${string}`,
        expiresAt: new Date(session.expiresAt).toISOString(),
        roles,
      };
    },
  );
}
