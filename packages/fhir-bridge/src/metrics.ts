/**
 * Prometheus metrics (prom-client), one registry per bridge instance so tests can run several.
 * Labels carry source ids, resource types and reasons — never ids or content.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ehr_bridge_' });
  const received = new Counter({
    name: 'ehr_bridge_received_total',
    help: 'Resource versions committed to the outbox (new, not replays)',
    labelNames: ['source', 'type'] as const,
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'ehr_bridge_duplicates_total',
    help: 'Pushed versions that were already in the outbox (replays)',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'ehr_bridge_rejected_total',
    help: 'Requests answered with an error OperationOutcome',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const queued = new Gauge({
    name: 'ehr_bridge_queued',
    help: 'Outbox records by state',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const anchored = new Counter({
    name: 'ehr_bridge_anchored_total',
    help: 'Records anchored on chain',
    registers: [registry],
  });
  const batches = new Counter({
    name: 'ehr_bridge_batches_total',
    help: 'Batches anchored',
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'ehr_bridge_batch_size',
    help: 'Records per anchored batch',
    buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000],
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'ehr_bridge_lag_seconds',
    help: 'Age of the oldest record not yet anchored',
    registers: [registry],
  });
  const stepErrors = new Counter({
    name: 'ehr_bridge_step_errors_total',
    help: 'Pipeline step failures (retried)',
    labelNames: ['step'] as const,
    registers: [registry],
  });
  const slowSenders = new Counter({
    name: 'ehr_bridge_slow_senders_closed_total',
    help: 'Connections closed because their request arrived too slowly',
    registers: [registry],
  });
  const deadLetters = new Gauge({
    name: 'ehr_bridge_dead_letters',
    help: 'Records a retried step gave up on after its attempt limit (ehr-bridge retry puts them back)',
    labelNames: ['step'] as const,
    registers: [registry],
  });
  const readStage = new Histogram({
    name: 'ehr_bridge_read_stage_seconds',
    help: 'Wall time of each stage of read requests (session, chain, store, ipfs, open, audit)',
    labelNames: ['stage'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return {
    registry,
    readStage,
    received,
    duplicates,
    rejected,
    queued,
    anchored,
    batches,
    batchSize,
    lag,
    stepErrors,
    slowSenders,
    deadLetters,
  };
}

export type BridgeMetrics = ReturnType<typeof createMetrics>;
