/**
 * Ingest routes — everything a FHIR server pushes (see ingest/parse.ts for the shapes):
 *
 *   POST   /fhir                 Bundle (transaction/batch/collection/history), subscription
 *                                notification, or empty notification (no body)
 *   POST   /fhir/{type}          REST-hook create with payload (empty body: pull that type)
 *   PUT    /fhir/{type}/{id}     REST-hook create/update with payload (empty body: read it)
 *   POST   /fhir/{type}/{id}     same as PUT (some servers POST notifications)
 *   DELETE /fhir/{type}/{id}     REST-hook delete → tombstone version
 *
 * Bodies are taken raw (for the HMAC), authenticated, then parsed. 202 + OperationOutcome receipt
 * only after the outbox commit.
 */
import { operationOutcomeSchema } from '@ehr-anchor/core/api';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SourceConfig } from '../../config.js';
import { parseBasePush, parseJson, parseResourcePush, type ParsedPush } from '../../ingest/parse.js';
import { receiptOutcome } from './receipt.js';

export const FHIR_CONTENT_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];

const typeParams = z.object({ type: z.string().max(64) });
const instanceParams = z.object({ type: z.string().max(64), id: z.string().max(64) });
const responses = {
  200: operationOutcomeSchema.describe('Notification acknowledged (handshake, heartbeat), nothing queued'),
  202: operationOutcomeSchema.describe('Receipt: every version committed to the outbox'),
  400: operationOutcomeSchema,
  401: operationOutcomeSchema,
  413: operationOutcomeSchema,
  415: operationOutcomeSchema,
  422: operationOutcomeSchema,
  503: operationOutcomeSchema,
};

export const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
  // Raw bytes: the HMAC is over exactly what was sent; JSON is parsed after authentication.
  app.addContentTypeParser(
    FHIR_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit: app.config.bodyLimit },
    (_req, body, done) => done(null, body),
  );

  const guard = { onRequest: app.requireSource.onRequest, preHandler: app.requireSource.preHandler };

  async function handle(parsed: ParsedPush, source: SourceConfig, reply: FastifyReply) {
    const receipt = await app.ingestor.ingest(source, parsed.items);
    const queued = receipt.accepted.length > 0 || receipt.pollStarted;
    return reply
      .status(queued ? 202 : 200)
      .header('content-type', 'application/fhir+json; charset=utf-8')
      .send(receiptOutcome(receipt, parsed.notification));
  }

  const tags = ['ingest'];
  const security: Record<string, string[]>[] = [{ bearer: [] }, { hmac: [] }];

  app.post(
    '/fhir',
    {
      ...guard,
      schema: {
        tags,
        security,
        summary: 'Bundle, subscription notification or empty notification',
        response: responses,
      },
    },
    async (request, reply) =>
      handle(parseBasePush(parseJson(request.body as Buffer | undefined)), request.source!, reply),
  );
  app.post(
    '/fhir/:type',
    {
      ...guard,
      schema: {
        tags,
        security,
        summary: 'REST-hook create with payload',
        params: typeParams,
        response: responses,
      },
    },
    async (request, reply) =>
      handle(
        parseResourcePush(
          'POST',
          request.params.type,
          undefined,
          parseJson(request.body as Buffer | undefined),
        ),
        request.source!,
        reply,
      ),
  );
  for (const method of ['PUT', 'POST'] as const) {
    app.route({
      method,
      url: '/fhir/:type/:id',
      ...guard,
      schema: {
        tags,
        security,
        summary: 'REST-hook create/update with payload, or empty notification',
        params: instanceParams,
        response: responses,
      },
      handler: async (request, reply) =>
        handle(
          parseResourcePush(
            method,
            request.params.type,
            request.params.id,
            parseJson(request.body as Buffer | undefined),
          ),
          request.source!,
          reply,
        ),
    });
  }
  app.delete(
    '/fhir/:type/:id',
    {
      ...guard,
      schema: {
        tags,
        security,
        summary: 'REST-hook delete (tombstone version)',
        params: instanceParams,
        response: responses,
      },
    },
    async (request, reply) =>
      handle(
        parseResourcePush('DELETE', request.params.type, request.params.id, undefined),
        request.source!,
        reply,
      ),
  );
};
