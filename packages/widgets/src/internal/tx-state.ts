import type { TxHandle } from '../data/data-source.js';
import { describeError, type ErrorStrings } from './ehr-element.js';

/** A wallet transaction as the person sees it: waiting for the wallet, pending on chain, confirmed, failed. */
export type TxState =
  | { phase: 'idle' }
  | { phase: 'signing'; label: string }
  | { phase: 'pending'; label: string; hash: string }
  | { phase: 'confirmed'; label: string; hash: string }
  | { phase: 'failed'; label: string; message: string; hash?: string };

/**
 * Runs one transaction through its phases, reporting each to `update` (the element re-renders
 * its `aria-live` status from it). Resolves with the hash when confirmed, undefined when it failed.
 */
export async function runTx(
  label: string,
  send: () => Promise<TxHandle>,
  update: (s: TxState) => void,
  strings: ErrorStrings,
): Promise<string | undefined> {
  update({ phase: 'signing', label });
  let tx: TxHandle;
  try {
    tx = await send();
  } catch (error) {
    update({ phase: 'failed', label, message: describeError(error, strings) });
    return undefined;
  }
  update({ phase: 'pending', label, hash: tx.hash });
  try {
    await tx.wait();
  } catch (error) {
    update({ phase: 'failed', label, message: describeError(error, strings), hash: tx.hash });
    return undefined;
  }
  update({ phase: 'confirmed', label, hash: tx.hash });
  return tx.hash;
}
