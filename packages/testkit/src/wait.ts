import { setTimeout as delay } from 'node:timers/promises';

const HUNG = Symbol('hung');

export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeoutMs?: number;
  /** Poll interval in milliseconds. */
  intervalMs?: number;
  /** What is being waited for, for the error message. */
  what?: string;
}

/**
 * Polls `condition` until it returns a value other than `undefined`/`false` (or stops throwing),
 * and returns that value. Tests wait for conditions, never for fixed sleeps.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    // Each attempt is bounded by what is left of the deadline: a condition that never settles (a
    // fetch to a server that accepted the connection and never answers) must not outlive timeoutMs.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<typeof HUNG>(
      (resolve) => (timer = setTimeout(() => resolve(HUNG), Math.max(deadline - Date.now(), 0) + intervalMs)),
    );
    try {
      const value = await Promise.race([Promise.resolve().then(condition), hung]);
      if (value === HUNG) lastError = new Error(`an attempt did not finish before the deadline`);
      else if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await delay(intervalMs);
  }
}
