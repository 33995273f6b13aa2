/** A revoke transaction was confirmed on chain. */
export class EhrConsentRevokedEvent extends Event {
  constructor(readonly detail: { grantee: string; txHash: string }) {
    super('ehr-consent-revoked', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-consent-revoked': EhrConsentRevokedEvent;
  }
}
