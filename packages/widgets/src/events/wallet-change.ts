import type { WalletState } from '../context/session.js';

/** The wallet connected, locked, changed account or network. */
export class EhrWalletChangeEvent extends Event {
  constructor(readonly detail: { wallet: WalletState; account: string | undefined }) {
    super('ehr-wallet-change', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-wallet-change': EhrWalletChangeEvent;
  }
}
