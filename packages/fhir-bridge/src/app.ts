/**
 * buildApp(config) → the bridge as a Fastify instance, assembled from plugins (errors, services,
 * auth, OpenAPI) and route plugins. server.ts only listens; tests use `app.inject()`.
 *
 * Route plugins are registered from ONE list, {@link ROUTES}: add a read-side area
 * (`src/routes/records/`, `src/routes/documents/`, `src/routes/auth/`) by appending it there.
 */
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import type { BridgeConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { authPlugin } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { limitsPlugin } from './plugins/limits.js';
import { servicesPlugin, type ServiceOverrides } from './plugins/services.js';
import { anchorRoutes } from './routes/anchors/index.js';
import { healthRoutes } from './routes/health/index.js';
import { ingestRoutes } from './routes/ingest/index.js';
import { statusRoutes } from './routes/status/index.js';
import { readSidePlugin } from './read/plugin.js';
import { auditRoutes } from './routes/audit/index.js';
import { authRoutes } from './routes/auth/index.js';
import { consentRoutes } from './routes/consent/index.js';
import { documentRoutes } from './routes/documents/index.js';
import { erasureRoutes } from './routes/erasure/index.js';
import { entryRoutes } from './routes/entries/index.js';
import { patientRoutes } from './routes/patients/index.js';
import { recordRoutes } from './routes/records/index.js';

/** Every route plugin of the bridge, in registration order. */
export const ROUTES: { name: string; plugin: FastifyPluginAsync }[] = [
  { name: 'health', plugin: healthRoutes as FastifyPluginAsync },
  { name: 'ingest', plugin: ingestRoutes as FastifyPluginAsync },
  { name: 'anchors', plugin: anchorRoutes as FastifyPluginAsync },
  { name: 'status', plugin: statusRoutes as FastifyPluginAsync },
  // read side (issue 7): its services first, then its route areas
  { name: 'read-side', plugin: readSidePlugin as FastifyPluginAsync },
  { name: 'auth', plugin: authRoutes as FastifyPluginAsync },
  { name: 'records', plugin: recordRoutes as FastifyPluginAsync },
  { name: 'patients', plugin: patientRoutes as FastifyPluginAsync },
  { name: 'documents', plugin: documentRoutes as FastifyPluginAsync },
  { name: 'audit', plugin: auditRoutes as FastifyPluginAsync },
  { name: 'consent', plugin: consentRoutes as FastifyPluginAsync },
  { name: 'erasure', plugin: erasureRoutes as FastifyPluginAsync },
  { name: 'entries', plugin: entryRoutes as FastifyPluginAsync },
];

export interface BuildOptions extends ServiceOverrides {
  /** Where logs go (default stdout); tests pass a stream to scan them for PHI. */
  logStream?: DestinationStream;
}

/**
 * Log options: no request/response auto-logging (URLs name resources, e.g. a Patient id), and
 * redaction of every header that carries a credential, in case a future log line includes them.
 */
export function loggerOptions(config: BridgeConfig, stream?: DestinationStream) {
  return {
    level: config.logLevel,
    base: { service: 'ehr-bridge' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-signature"]',
        'headers.authorization',
        'body',
        'resource',
        'req.body',
      ],
      censor: '[redacted]',
    },
    ...(stream ? { stream } : {}),
  };
}

export async function buildApp(config: BridgeConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, options.logStream),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // The whole request must arrive within this (slow senders are closed sooner: plugins/limits.ts).
    requestTimeout: 120_000,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.decorate('config', config);
  app.decorate('metrics', createMetrics());
  // One line per request without the URL (it may hold a resource id): method, route pattern, status.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? '(none)',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  await app.register(errorsPlugin);
  await app.register(limitsPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ehr-anchor fhir-bridge',
        version: '0.1.0',
        description:
          'Ingest FHIR pushes into a durable outbox; encrypt to IPFS; anchor Merkle roots of batches on chain.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'per-source shared secret' },
          hmac: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Signature',
            description: 'hex HMAC-SHA256 of the raw body',
          },
          session: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'read side: Sign-In with Ethereum session (POST /auth/session)',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(servicesPlugin, { outbox: options.outbox, keyStore: options.keyStore });
  await app.register(authPlugin);
  for (const route of ROUTES) await app.register(route.plugin);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
