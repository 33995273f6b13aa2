/**
 * Where a read request's time goes: each stage's wall time, reported to the bridge's
 * `ehr_bridge_read_stage_seconds{stage}` histogram (GET /metrics) — session check, chain answers,
 * outbox / read-store reads, the IPFS fetch, opening and verifying the envelope, the audit write.
 */
export type ReadStage = 'session' | 'chain' | 'store' | 'ipfs' | 'open' | 'audit';
export type StageObserver = (stage: ReadStage, seconds: number) => void;

/** Runs `fn`, reporting its wall time under `stage` (when anyone observes). */
export async function timed<T>(
  observe: StageObserver | undefined,
  stage: ReadStage,
  fn: () => Promise<T> | T,
): Promise<T> {
  if (!observe) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    observe(stage, (performance.now() - t0) / 1000);
  }
}
