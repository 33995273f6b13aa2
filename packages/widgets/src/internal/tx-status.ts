import { html, type TemplateResult } from 'lit';
import type { TxState } from './tx-state.js';

export interface TxStrings {
  signing: string;
  pending: string;
  confirmed: string;
  failed: string;
}

export const defaultTxStrings: TxStrings = {
  signing: 'Confirm in your wallet…',
  pending: 'Transaction sent, waiting for a block…',
  confirmed: 'Confirmed on chain.',
  failed: 'Failed.',
};

/** The live status line of a transaction (always rendered, so screen readers hear each change). */
export function renderTx(tx: TxState, s: TxStrings): TemplateResult {
  const text =
    tx.phase === 'idle'
      ? ''
      : tx.phase === 'failed'
        ? `${tx.label}: ${s.failed} ${tx.message}`
        : `${tx.label}: ${s[tx.phase]}`;
  const hash = tx.phase === 'pending' || tx.phase === 'confirmed' ? tx.hash : undefined;
  return html`<div part="tx-status" class="tx" data-phase=${tx.phase} role="status" aria-live="polite">
    ${text}${hash ? html` <span class="mono">${hash}</span>` : ''}
  </div>`;
}
