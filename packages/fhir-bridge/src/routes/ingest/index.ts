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
 * only after the outbox commit; a topic-based subscription notification gets the same receipt as
 * the `outcome` of a `batch-response` Bundle (what a server's FHIR client expects back from a POSTed
 * Bundle).
 */
import { operationOutcomeSchema } from '@ehr-anchor/core/api';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SourceConfig } from '../../config.js';
import { badRequest } from '../../errors.js';
import { FHIR_CONTENT_TYPES, type PushAuth } from '../../plugins/auth.js';
import {
  parseBasePush,
  parseJson,
  parseReference,
  parseResourcePush,
  type ParsedPush,
} from '../../ingest/parse.js';
import { notificationReceipt, notificationReceiptSchema, receiptOutcome } from './receipt.js';

export { FHIR_CONTENT_TYPES };

const typeParams = z.object({ type: z.string().max(64) });
const instanceParams = z.object({ type: z.string().max(64), id: z.string().max(64) });
const responses = {
  200: operationOutcomeSchema.describe('Notification acknowledged (handshake, heartbeat), nothing queued'),
  202: operationOutcomeSchema.describe('Receipt: every version committed to the outbox'),
  400: operationOutcomeSchema,
  401: operationOutcomeSchema,
  409: operationOutcomeSchema,
  413: operationOutcomeSchema,
  415: operationOutcomeSchema,
  422: operationOutcomeSchema,
  429: operationOutcomeSchema,
  503: operationOutcomeSchema,
};

export const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
  // Raw bytes: the HMAC is over exactly what was sent; JSON is parsed after authentication.
  app.removeContentTypeParser(FHIR_CONTENT_TYPES);
  app.addContentTypeParser(
    FHIR_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit: app.config.bodyLimit },
    (_req, body, done) => done(null, body),
  );

  const guard = {
    onRequest: app.requireSource.onRequest,
    preHandler: [app.requireSource.preHandler, app.limitSource],
  };

  /**
   * Deletes authenticated only by a body HMAC (the signature of `{}` or of nothing is a constant,
   * so it proves nothing about which resource) are recorded only once the source confirms them.
   */
  function confirmDeletes(parsed: ParsedPush, auth: PushAuth | undefined): ParsedPush {
    if (auth !== 'hmac-body') return parsed;
    return {
      ...parsed,
      items: parsed.items.map((i) => (i.kind === 'delete' && !i.signed ? { ...i, confirm: true } : i)),
    };
  }

  async function handle(parsed: ParsedPush, source: SourceConfig, reply: FastifyReply, auth?: PushAuth) {
    const receipt = await app.ingestor.ingest(source, confirmDeletes(parsed, auth).items);
    const status = receipt.accepted.length > 0 || receipt.pollStarted ? 202 : 200;
    const outcome = receiptOutcome(receipt, parsed.notification);
    return reply
      .status(status)
      .header('content-type', 'application/fhir+json; charset=utf-8')
      .send(parsed.notification ? notificationReceipt(status, outcome) : outcome);
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
        response: {
          ...responses,
          200: z
            .union([operationOutcomeSchema, notificationReceiptSchema])
            .describe(
              'Nothing queued (handshake, heartbeat); a topic notification is answered with a batch-response Bundle carrying the receipt',
            ),
          202: z
            .union([operationOutcomeSchema, notificationReceiptSchema])
            .describe('Receipt (a topic notification: wrapped in a batch-response Bundle)'),
        },
      },
    },
    async (request, reply) => {
      const body = parseJson(request.body as Buffer | undefined);
      const interaction = request.headers['x-medplum-interaction'];
      if (typeof interaction === 'string' && interaction.toLowerCase() === 'delete') {
        // Medplum's delete: `{}` posted to the endpoint, the resource named in a header.
        const named = request.headers['x-medplum-deleted-resource'];
        const ref = typeof named === 'string' ? parseReference(named.trim()) : undefined;
        if (
          !ref?.type ||
          ref.versionId !== undefined ||
          !/^[A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(String(named).trim())
        )
          throw badRequest('X-Medplum-Deleted-Resource: expected Type/id of a FHIR R4 resource');
        if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0))
          throw badRequest('a Medplum delete notification carries {} as its body');
        const parsed: ParsedPush = {
          items: [{ kind: 'delete', resourceType: ref.type, resourceId: ref.id }],
        };
        return handle(parsed, request.source!, reply, request.pushAuth);
      }
      return handle(parseBasePush(body), request.source!, reply, request.pushAuth);
    },
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
        request.pushAuth,
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
          request.pushAuth,
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
        request.pushAuth,
      ),
  );
};
