/**
 * The shared test harness: real services (anvil, Kubo, PostgreSQL) started per test run on
 * OS-chosen loopback ports, and always torn down — on success, failure, Ctrl-C, and (through a
 * reaper process) even when the test runner is killed.
 */
export { DEV_KEYS, type DevRole } from './accounts.js';
export { jsonRpc, startAnvil, type Anvil, type AnvilOptions } from './anvil.js';
export { startCluster, type ClusterOptions, type KuboCluster } from './cluster.js';
export {
  initKuboRepo,
  startKubo,
  type Kubo,
  type KuboNetworkOptions,
  type KuboOptions,
  type KuboPeer,
} from './kubo.js';
export { freePort } from './ports.js';
export { postgresBin, startPostgres, type Postgres } from './postgres.js';
export { descendants, isAlive, liveCount, startProcess, stopAll, type ManagedProcess } from './processes.js';
export { repoRoot, toolPath, toolsBin } from './tools.js';
export { waitFor, type WaitOptions } from './wait.js';
export {
  bulkDir,
  fixturePatients,
  fixturesDir,
  loadBulkResources,
  loadSyntheaBundles,
  syntheaDir,
} from './fixtures.js';
export { SYNTHEA_FILES, type SyntheaFile } from './fixture-names.js';
export {
  MIN_TERM_LENGTH,
  PhiScanner,
  describeHit,
  patientTerms,
  phiFixtureTerms,
  phiForms,
  phiTerms,
  scanBytes,
  type PhiHit,
  type PhiTerm,
} from './phi.js';
export {
  CLINICAL_TYPES,
  HAPI_SEND_DELETES,
  createRestHookSubscription,
  hapiJar,
  loadSyntheaIntoHapi,
  processRssBytes,
  startHapi,
  type Hapi,
  type HapiOptions,
  type LoadedBundle,
  type LoadOptions,
  type LoadReport,
  type RestHookOptions,
} from './hapi.js';
export {
  createSubscriptionTopic,
  createTopicSubscription,
  describeIssue,
  readTopicNotification,
  stopSubscription,
  validateResource,
  type TopicNotification,
  type TopicOptions,
  type TopicPayload,
  type TopicSubscriptionOptions,
  type ValidationResult,
} from './hapi-conformance.js';
export {
  benchSummary,
  cpuMeter,
  cpuSeconds,
  fmt,
  loadAverage,
  median,
  pct,
  table,
  type BenchSummaryRow,
} from './bench.js';
