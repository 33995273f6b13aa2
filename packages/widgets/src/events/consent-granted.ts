import type { GrantRequest } from '../data/data-source.js';

/** A grant transaction was confirmed on chain. */
export class EhrConsentGrantedEvent extends Event {
  constructor(readonly detail: { grant: GrantRequest; txHash: string }) {
    super('ehr-consent-granted', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-consent-granted': EhrConsentGrantedEvent;
  }
}
