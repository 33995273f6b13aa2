/**
 * @ehr-anchor/fhir-bridge — the service hospitals run next to their FHIR server.
 * `buildApp(config)` gives the Fastify instance; `startServer` listens; the CLI is `ehr-bridge`.
 */
export { ROUTES, buildApp, loggerOptions, type BuildOptions } from './app.js';
export { startServer, type RunningBridge } from './server.js';
export {
  BridgeConfigSchema,
  ConfigError,
  ENV_VARS,
  SourceSchema,
  loadConfig,
  parseConfig,
  type BridgeConfig,
  type BridgeConfigInput,
  type SourceConfig,
} from './config.js';
export {
  FileKeyStore,
  keyStoreFileSchema,
  loadKeyStore,
  newKeyStoreFile,
  type KeyStore,
  type KeyStoreFile,
} from './keys/keystore.js';
export * from './outbox/index.js';
export { Pipeline, provenanceFor, PROVENANCE_SYSTEMS } from './pipeline/pipeline.js';
export { Chain } from './pipeline/chain.js';
export { IpfsStore, encodeCar, fileBlocks } from './pipeline/ipfs.js';
export { Ingestor, type Receipt } from './ingest/service.js';
export { parseBasePush, parseBundle, parseResourcePush, type IngestItem } from './ingest/parse.js';
export { DERIVED_VERSION_PREFIX, NO_SUBJECT, patientIdOf } from './ingest/prepare.js';
export { REQUEST_SIGNATURE_HEADER, safeEqual, signBody, signRequest } from './plugins/auth.js';
export { HttpError, operationOutcome } from './errors.js';
