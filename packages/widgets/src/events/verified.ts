import type { Verification } from '../verify/verify-record.js';

/** A record's verification badge was computed in the browser. */
export class EhrVerifiedEvent extends Event {
  constructor(readonly detail: { key: string; verification: Verification }) {
    super('ehr-verified', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-verified': EhrVerifiedEvent;
  }
}
