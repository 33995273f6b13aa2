import type { GrantRequest } from '../data/data-source.js';

/** Before a grant is sent to the wallet. Cancel it to veto. */
export class EhrConsentGrantRequestEvent extends Event {
  constructor(readonly detail: GrantRequest) {
    super('ehr-consent-grant-request', { bubbles: true, composed: true, cancelable: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-consent-grant-request': EhrConsentGrantRequestEvent;
  }
}
